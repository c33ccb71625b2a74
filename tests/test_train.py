"""End to end on a tiny generated store: checkpoints, TensorBoard, report; resume exactly."""

import json
import shutil

import jax
import numpy as np
import pytest

from hrjax.data import clip_store
from hrjax.errors import InputError
from hrjax.evaluation import evaluate
from hrjax.training import restore, train


def _params(workdir):
  _, _, params, step = restore.load(workdir)
  return jax.device_get(params), step


def test_train_and_evaluate_writes_everything_and_resumes_exactly(tiny_run, tmp_path):
  cfg, full, report = tiny_run
  assert (full / 'config.json').is_file()
  assert sorted(p.name for p in (full / 'checkpoints').iterdir() if p.name.isdigit()) == [
      '3', '6']
  assert list((full / 'tensorboard').glob('events.out.tfevents.*'))
  saved = json.loads((full / 'eval' / 'report.json').read_text())
  assert set(saved['methods']) == {'hrjax', 'green', 'chrom', 'pos'}
  for m in saved['methods'].values():
    assert 0 <= m['two_afc'] <= 1 and m['two_afc_ci95'][0] <= m['two_afc_ci95'][1]
  assert report['methods']['hrjax']['two_afc'] == saved['methods']['hrjax']['two_afc']
  for name in ('accuracy_vs_rate_gap', 'roc', 'per_subject'):  # figures a person can open
    assert (full / 'eval' / f'{name}.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
  summary = (full / 'eval' / 'report.md').read_text()
  assert '| hrjax (learned) |' in summary and '![roc](roc.png)' in summary

  # Stopped after 3 steps, then resumed: the same parameters as the unbroken run.
  part = tmp_path / 'part'
  assert train.train_and_evaluate(cfg, part, progress=False, stop_after=3) is None
  assert sorted(p.name for p in (part / 'checkpoints').iterdir() if p.name.isdigit()) == ['3']
  train.train_and_evaluate(cfg, part, progress=False)
  p_full, s_full = _params(full)
  p_part, s_part = _params(part)
  assert s_full == s_part == 6
  for a, b in zip(jax.tree.leaves(p_full), jax.tree.leaves(p_part)):
    np.testing.assert_array_equal(a, b)

  # --mode eval reproduces the report from the checkpoint.
  again = evaluate.evaluate_checkpoint(cfg, full)
  assert again['methods']['hrjax']['two_afc'] == report['methods']['hrjax']['two_afc']
  assert again['checkpoint_step'] == 6
  # Any saved step, on another split, into another folder.
  cfg_other = cfg.copy_and_resolve_references()
  cfg_other.data.eval_split = 'train'
  early = evaluate.evaluate_checkpoint(cfg_other, full, step=3, report_dir=tmp_path / 'train3')
  assert early['checkpoint_step'] == 3 and early['split'] == 'train'
  assert json.loads((tmp_path / 'train3' / 'report.json').read_text())['checkpoint_step'] == 3


def test_fine_tuning_starts_from_another_runs_parameters_with_a_mixed_store(tiny_run, tiny_data,
                                                                            tmp_path):
  cfg, full, _ = tiny_run
  _, store = tiny_data
  tuned = cfg.copy_and_resolve_references()
  tuned.train.init_from = str(full)
  subjects = sorted(set(clip_store.open_split(store, 'train').subjects))
  tuned.train.mix, tuned.train.mix_exclude = f'{store}@2', subjects[0]
  train.train(tuned, tmp_path / 'tuned', progress=False, stop_after=1)
  p_source, _ = _params(full)
  p_tuned, step = _params(tmp_path / 'tuned')
  assert step == 1
  # The schedule's first learning rate is 0: one step leaves the parameters it started from.
  for a, b in zip(jax.tree.leaves(p_source), jax.tree.leaves(p_tuned)):
    np.testing.assert_array_equal(a, b)


def test_an_unreadable_newest_checkpoint_is_named_skipped_and_trained_again(tiny_run, tmp_path):
  """Step 6's files cut short (a full disk, a killed copy): evaluation names it and uses
  step 3, asking for step 6 names its folder, and training sets it aside and resumes from
  step 3 to the unbroken run's parameters."""
  cfg, full, _ = tiny_run
  work = tmp_path / 'damaged'
  shutil.copytree(full, work)
  for f in (work / 'checkpoints' / '6').rglob('*'):
    if f.is_file() and f.stat().st_size > 16:
      f.write_bytes(f.read_bytes()[:f.stat().st_size // 3])
  assert restore.load(work).step == 3
  with pytest.raises(InputError, match=r'checkpoints/6: checkpoint of step 6 cannot be read'):
    restore.load(work, step=6)
  train.train_and_evaluate(cfg, work, progress=False)
  assert (work / 'checkpoints' / '6.unreadable').is_dir()
  p_full, _ = _params(full)
  p_again, s_again = _params(work)
  assert s_again == 6
  for a, b in zip(jax.tree.leaves(p_full), jax.tree.leaves(p_again)):
    np.testing.assert_array_equal(a, b)


def test_a_classical_channel_joins_the_score_not_the_training(tiny_run, tmp_path):
  """model.classical='chrom': three steps train the very parameters the plain config's
  three steps did: the loss sees the learned channels alone (how the channel weighs into a
  score: tests/test_model.py)."""
  cfg, full, _ = tiny_run
  chrom = cfg.copy_and_resolve_references()
  chrom.model.classical = 'chrom'
  train.train(chrom, tmp_path / 'chrom', progress=False, stop_after=3)
  plain = jax.device_get(restore.load(full, step=3).params)
  trained = restore.load(tmp_path / 'chrom')
  assert trained.step == 3 and trained.model.classical == 'chrom'
  for a, b in zip(jax.tree.leaves(plain), jax.tree.leaves(jax.device_get(trained.params))):
    np.testing.assert_array_equal(a, b)
