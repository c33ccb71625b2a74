r"""The out-of-domain protocol: train one recipe with several seeds, evaluate every checkpoint
on faces it never saw, and tabulate mean ± sd over seeds beside GREEN, CHROM and POS on the
very same pairs. Recipes are chosen by this table, never by the training generator's own
test split (shown first, for reference only).

  python scripts/transfer.py --config configs/quick.py --seeds 0,1,2,3,4 \
      --out docs/transfer/quick.md
  python scripts/transfer.py --config configs/real.py --seeds 0,1,2 \
      --set='train.init_from=runs/transfer/quick-seed{seed}' --out docs/transfer/real.md

Test sets: the config's own test split; ubfc-dev real faces (`--ubfc_root`, face crop,
extracted once into `--ubfc_store`; its training store `--ubfc_train_store` too, which a
recipe may mix in with `train.mix`); any further `--eval_store`. When the recipe trains on
a test set's recordings (a `train.mix` store extracted from the same folder), every seed
is trained once per subject with that subject left out (`train.mix_exclude`), and the
set's figure pools the trials whose heart is the left-out subject's: no figure comes from
a heart the model was trained on. `{seed}` in a `--set` value is replaced by the seed.

Each run is `python -m hrjax.main --config CONFIG --workdir RUNS/NAME-seedS[/loso-K]
--config.seed=S ...` (resuming from its checkpoints), then `--mode eval` on each set.
"""

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from absl import app, flags

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

sys.path.insert(0, str(Path(__file__).resolve().parent))

import transfer_table  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string('config', 'configs/quick.py', 'Experiment config (a path, as for hrjax.main).')
flags.DEFINE_list('seeds', ['0', '1', '2'], 'Values of config.seed, one run (or fold set) each.')
flags.DEFINE_multi_string('set', [], 'Config override for every run, e.g. --set=train.steps=200; '
                          '{seed} is replaced by the run\'s seed.')
flags.DEFINE_string('ubfc_root', '../shared/data/ubfc-dev', 'UBFC-rPPG-layout folder of real '
                    'faces to test on (skipped with a note when missing; empty: skip).')
flags.DEFINE_string('ubfc_store', 'data/ubfc-dev/face-store', 'Its test store (face crop).')
flags.DEFINE_string('ubfc_train_store', 'data/ubfc-dev/face-train',
                    'Its training store (every subject, train stride), for recipes that mix it in.')
flags.DEFINE_multi_string('eval_store', [], 'A further clip store to test on (its test split).')
flags.DEFINE_string('runs', 'runs/transfer', "Parent folder of the runs' workdirs.")
flags.DEFINE_string('peers_python', '', "Python with the `peers` extra (open-rppg) installed, "
                    'to score its pretrained models on every set (scripts/peers.py, in its own '
                    'process); default: this one when it has them, else rows are skipped.')
flags.DEFINE_list('peer_models', ['FacePhys.rlap'], 'open-rppg models to score.')
flags.DEFINE_string('peers_cache', 'runs/peers', "Where the peers' reports are kept (they do "
                    'not depend on the recipe: computed once per store and model list).')
flags.DEFINE_string('out', 'docs/transfer.md', 'Markdown tables to write (after every seed).')


def run(cmd: list[str]) -> float:
  print('$', ' '.join(cmd), flush=True)
  t0 = time.time()
  subprocess.run(cmd, check=True, env=dict(os.environ))
  return time.time() - t0


def main_command(workdir: Path, seed: str, *extra: str) -> list[str]:
  sets = [s.replace('{seed}', seed) for s in FLAGS.set]
  return [sys.executable, '-m', 'hrjax.main', f'--config={FLAGS.config}', f'--workdir={workdir}',
          f'--config.seed={seed}', '--noprogress', *[f'--config.{s}' for s in sets], *extra]


def ensure_ubfc_stores() -> list[str]:
  """The ubfc-dev test store (and training store), extracted once; [] without the data."""
  if not FLAGS.ubfc_root:
    return []
  if not Path(FLAGS.ubfc_root).is_dir():
    print(f'note: {FLAGS.ubfc_root} not found: no real-face rows', flush=True)
    return []
  extract = [sys.executable, 'scripts/extract.py', '--dataset=ubfc_rppg', '--crop=face',
             f'--root={FLAGS.ubfc_root}', '--noprogress']
  for store, fractions in ((FLAGS.ubfc_store, '0,0,1'), (FLAGS.ubfc_train_store, '1,0,0')):
    if not (Path(store) / 'header.json').is_file():
      run(extract + [f'--store={store}', f'--split_fractions={fractions}'])
  return [FLAGS.ubfc_store]


def store_root(store: str) -> str | None:
  header = Path(store) / 'header.json'
  return str(Path(json.loads(header.read_text())['root']).resolve()) if header.is_file() else None


def trained_on(config_mix: str, store: str) -> bool:
  """Whether a `train.mix` value names a store extracted from the same recordings as `store`."""
  mixed = [e.rpartition('@')[0] for e in config_mix.split(',') if e.strip()]
  root = store_root(store)
  return root is not None and any(store_root(m) == root for m in mixed)


def recipe_mix() -> str:
  """The recipe's `train.mix`: from --set, else the config file's own value."""
  for s in FLAGS.set:
    key, _, value = s.partition('=')
    if key == 'train.mix':
      return value
  path, _, arg = FLAGS.config.partition(':')
  spec = importlib.util.spec_from_file_location('transfer_recipe', path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(arg or None).train.mix


def test_subjects(store: str) -> list[str]:
  rows = (Path(store) / 'test' / 'clips.jsonl').read_text().splitlines()
  return sorted({json.loads(r)['subject'] for r in rows}, key=lambda s: (len(s), s))


def evaluate_on(workdir: Path, seed: str, store: str) -> tuple[dict, float]:
  report_dir = workdir / f'eval-{store.strip("/").replace("/", "-")}'
  seconds = run(main_command(workdir, seed, '--mode=eval', f'--config.data.store={store}',
                             f'--report_dir={report_dir}'))
  return json.loads((report_dir / 'report.json').read_text()), seconds


def one_seed(seed: str, name: str, stores: list[str], loso: dict[str, bool]) -> tuple[dict, float]:
  """Train and evaluate one seed: {store: report or pooled LOSO report}, seconds."""
  base = Path(FLAGS.runs) / f'{name}-seed{seed}'
  seconds, out = 0.0, {}
  if not all(loso.values()) or not stores:
    seconds += run(main_command(base, seed))
    out['(config)'] = json.loads((base / 'eval' / 'report.json').read_text())
  for store in stores:
    if not loso[store]:
      out[store], s = evaluate_on(base, seed, store)
      seconds += s
      continue
    folds = {}
    for subject in test_subjects(store):
      fold = base / f'loso-{subject}'
      seconds += run(main_command(fold, seed, f'--config.train.mix_exclude={subject}'))
      folds[subject], s = evaluate_on(fold, seed, store)
      seconds += s
      # Trained on every set's recordings: the own test split from the first fold's run.
      out.setdefault('(config)', json.loads((fold / 'eval' / 'report.json').read_text()))
    out[store] = transfer_table.pool_loso(folds, store)
  return out, seconds


def peer_reports(stores: list[str]) -> tuple[dict[str, dict], tuple[str, ...]]:
  """{store: scripts/peers.py report}, computed once per store into --peers_cache; and a note
  when the peers are not installed."""
  python = FLAGS.peers_python or sys.executable
  if subprocess.run([python, '-c', 'import rppg'], capture_output=True).returncode:
    return {}, (f"no pretrained peers: open-rppg is not importable by {python} (pip install "
                "-e '.[peers]', or --peers_python)",)
  out = {}
  for store in stores:
    name = f'{store.strip("/").replace("/", "-")}-{"-".join(FLAGS.peer_models)}.json'
    path = Path(FLAGS.peers_cache) / name
    if not path.is_file():
      run([python, 'scripts/peers.py', f'--store={store}', '--noprogress', f'--out={path}',
           f'--models={",".join(FLAGS.peer_models)}'])
    out[store] = json.loads(path.read_text())
  return out, ()


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  path, _, arg = FLAGS.config.partition(':')
  name = Path(path).stem + (f'-{arg}' if arg else '')
  stores = ensure_ubfc_stores() + FLAGS.eval_store
  mix = recipe_mix()
  loso = {s: trained_on(mix, s) for s in stores}
  peers, notes = peer_reports(stores)
  reports, minutes = {}, {}
  out = Path(FLAGS.out)
  for seed in FLAGS.seeds:
    reports[seed], seconds = one_seed(seed, name, stores, loso)
    minutes[seed] = seconds / 60
    text = transfer_table.markdown(FLAGS.config, ' '.join(sys.argv), reports, minutes, loso,
                                   peers, notes)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)  # after each seed: a cut run keeps its rows
  print(out.read_text())


if __name__ == '__main__':
  app.run(main)
