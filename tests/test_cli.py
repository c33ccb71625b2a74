"""The command line: --help explains, a misspelt config key stops with its name."""

import json
import os
import platform
import re
import subprocess
import sys

import pytest

from configs import quick
from hrjax import allocator, config_check
from hrjax.errors import InputError


def _run(*args):
  return subprocess.run([sys.executable, '-m', 'hrjax.main', *args], capture_output=True,
                        text=True, timeout=120)


def test_help_lists_the_flags():
  out = _run('--helpshort')  # absl exits with status 1 after help
  for flag in ('--config', '--workdir', '--mode'):
    assert flag in out.stdout


def test_unknown_config_key_fails_with_its_name(tmp_path):
  out = _run('--config=configs/quick.py', f'--workdir={tmp_path}', '--config.train.stepz=5')
  assert out.returncode == 2
  assert out.stderr.strip().splitlines()[-1].startswith(
      "hrjax: error: --config.train.stepz: the config has no key 'stepz'"), out.stderr[-2000:]
  assert not any(tmp_path.iterdir())  # nothing started


@pytest.mark.parametrize('key, value, message', [
    ('train.steps', -5, 'is -5; must be at least 1'),
    ('train.batch_size', 1, 'is 1; must be at least 2'),
    ('train.learning_rate', float('nan'), 'is nan; must be a number above 0'),
    ('model.representation', 'ppg', "is 'ppg'; must be one of waveform"),
    ('data.crop', 'faces', "is 'faces'; must be one of face, center, none"),
    ('data.split_fractions', (0.7, 0.2, 0.2), 'is (0.7, 0.2, 0.2); must be three'),
    ('eval.n_way', (1, 5), 'is (1, 5); each N-way test needs at least 2'),
    ('model.classical', 'pos', "is 'pos'; must be one of none, chrom"),
    ('model.bandpass', 'iir', "is 'iir'; must be one of fft, butterworth"),
    ('model.input', 'diff', "is 'diff'; must be one of relative, difference"),
])
def test_config_values_that_cannot_work_are_named_before_any_work(key, value, message):
  config_check.check(quick.get_config())  # the config as written passes
  cfg = quick.get_config()
  group, name = key.split('.')
  cfg[group][name] = value
  with pytest.raises(InputError, match=re.escape(f'--config.{key}: {message}')):
    config_check.check(cfg)


def test_a_bad_config_value_stops_main_with_one_line(tmp_path):
  out = _run('--config=configs/quick.py', f'--workdir={tmp_path}', '--config.train.steps=-5')
  assert out.returncode == 1
  assert out.stderr.strip().splitlines()[-1] == (
      'hrjax: error: --config.train.steps: is -5; must be at least 1'), out.stderr[-2000:]
  assert not any(tmp_path.iterdir())


def test_extract_script_help():
  out = subprocess.run([sys.executable, 'scripts/extract.py', '--help'],
                       capture_output=True, text=True, timeout=120)
  assert '--dataset' in out.stdout and 'skip_bad' in out.stdout


_REPORT_ALLOCATOR = """
import os, subprocess, sys
from configs import quick
from hrjax import allocator, config_check
from hrjax.errors import InputError
allocator.tune_malloc()
child = subprocess.run([sys.executable, '-c', 'import os; print(os.environ.get("LD_PRELOAD"))'],
                       capture_output=True, text=True).stdout.strip()
mapped = 'libmimalloc' in open('/proc/self/maps').read()
print(mapped, os.environ.get('LD_PRELOAD'), child, os.environ.get('GLIBC_TUNABLES'), sep='|')
"""


@pytest.mark.skipif(sys.platform != 'linux' or platform.libc_ver()[0] != 'glibc',
                    reason='glibc only')
@pytest.mark.skipif(allocator.mimalloc_library() is None, reason='cmeel-mimalloc is not installed')
def test_main_reruns_itself_with_mimalloc_unless_told_otherwise():
  """`tune_malloc` re-runs the program with mimalloc loaded, then takes the preload out of
  the environment (programs it starts do not get it); the opt-outs fall back or do nothing."""
  mine = ('GLIBC_TUNABLES', 'HRJAX_MALLOC_TUNING', 'LD_PRELOAD', 'JAX_PLATFORMS')
  env = {k: v for k, v in os.environ.items() if k not in mine}

  cases = [{}, dict(JAX_PLATFORMS='cpu'), dict(JAX_PLATFORMS='cuda'), dict(LD_PRELOAD=''),
           dict(HRJAX_MALLOC_TUNING='0'),
           dict(JAX_PLATFORMS='cuda', GLIBC_TUNABLES='glibc.malloc.arena_max=2')]
  procs = [subprocess.Popen([sys.executable, '-c', _REPORT_ALLOCATOR], env=dict(env, **extra),
                            stdout=subprocess.PIPE, text=True) for extra in cases]  # side by side
  default, cpu, cuda, preloaded, off, tuned = (p.communicate(timeout=120)[0].strip().split('|')
                                               for p in procs)
  assert default == ['True', 'None', 'None', 'None']
  assert cpu == ['True', 'None', 'None', 'None']
  assert cuda == ['False', 'None', 'None', allocator.MALLOC_TUNING]  # glibc, huge pages
  assert preloaded == ['False', '', '', allocator.MALLOC_TUNING]  # yours: left alone
  assert off == ['False', 'None', 'None', 'None']
  assert tuned[3] == 'glibc.malloc.arena_max=2'


_KEEP_AND_GIVE_BACK = """
import numpy as np
from hrjax import allocator
def anon_mb():
  line = next(l for l in open('/proc/self/status') if l.startswith('RssAnon'))
  return int(line.split()[1]) // 1024
allocator.tune_malloc()
for keep in (True, False):
  allocator.keep_freed_memory(keep)
  block = np.ones(400 << 20, np.uint8)  # touched: resident
  del block
  print(keep, allocator._kept_mimalloc() is not None, anon_mb())
"""


@pytest.mark.skipif(sys.platform != 'linux' or platform.libc_ver()[0] != 'glibc',
                    reason='glibc only')
@pytest.mark.skipif(allocator.mimalloc_library() is None, reason='cmeel-mimalloc is not installed')
def test_freed_memory_is_kept_only_while_asked_for():
  """Under the re-run's mimalloc a freed 400 MB block stays resident while memory is kept
  (the train loop) and goes back once it is not (compiles, evaluation); a process on
  glibc or with a purge delay of your own is not switched."""
  mine = ('GLIBC_TUNABLES', 'HRJAX_MALLOC_TUNING', 'LD_PRELOAD', 'MIMALLOC_PURGE_DELAY')
  env = {k: v for k, v in os.environ.items() if k not in mine}

  def run_with(**extra):
    out = subprocess.run([sys.executable, '-c', _KEEP_AND_GIVE_BACK], env=dict(env, **extra),
                         capture_output=True, text=True, timeout=60)
    rows = [line.split() for line in out.stdout.strip().splitlines()]
    assert len(rows) == 2, out.stderr[-2000:]
    return {row[0]: (row[1], int(row[2])) for row in rows}

  kept = run_with(JAX_PLATFORMS='cpu')
  assert kept['True'][0] == kept['False'][0] == 'True'
  assert kept['True'][1] > 400 and kept['True'][1] - kept['False'][1] > 300, kept
  assert run_with(JAX_PLATFORMS='cpu', MIMALLOC_PURGE_DELAY='10000')['True'][0] == 'False'
  assert run_with(HRJAX_MALLOC_TUNING='0')['True'][0] == 'False'


def test_malloc_env_falls_back_to_huge_pages_without_mimalloc(monkeypatch):
  monkeypatch.setattr(allocator, 'mimalloc_library', lambda: None)
  monkeypatch.setattr(sys, 'platform', 'linux')
  monkeypatch.setattr(platform, 'libc_ver', lambda: ('glibc', '2.36'))
  assert allocator.malloc_env({}) == {'GLIBC_TUNABLES': allocator.MALLOC_TUNING}
  assert allocator.malloc_env({'GLIBC_TUNABLES': 'x'}) == {}
  monkeypatch.setattr(allocator, 'mimalloc_library', lambda: '/lib/libmimalloc.so')
  assert allocator.malloc_env({}) == {'LD_PRELOAD': '/lib/libmimalloc.so',
                                'MIMALLOC_PURGE_DELAY': allocator.MIMALLOC_PURGE_DELAY}
  assert allocator.malloc_env({'MIMALLOC_PURGE_DELAY': '10'})['MIMALLOC_PURGE_DELAY'] == '10'
  monkeypatch.setattr(sys, 'platform', 'darwin')
  assert allocator.malloc_env({}) == {}


def test_transfer_pools_leave_one_subject_out_folds_and_tabulates_seeds(tmp_path):
  """scripts/transfer_table.py on made-up reports: subject a has 1 clip of 3 (2 trials), b
  has 2 (2 trials); each fold counts only its left-out subject's trials."""
  sys.path.insert(0, 'scripts')
  import transfer_table
  (tmp_path / 'test').mkdir()
  rows = [dict(subject='a', recording='ra'), dict(subject='b', recording='rb'),
          dict(subject='b', recording='rb')]
  (tmp_path / 'test' / 'clips.jsonl').write_text('\n'.join(json.dumps(r) for r in rows))

  def report(per_subject, rec):
    m = dict(per_subject_two_afc=per_subject, recording=dict(per_subject=rec))
    return dict(split='test', clips=3, subjects=2, methods=dict(hrjax=m, chrom=m))

  folds = {'a': report({'a': 1.0, 'b': 0.0}, {'a': 1.0, 'b': 0.0}),
           'b': report({'a': 0.0, 'b': 0.5}, {'a': 0.0, 'b': 1.0})}
  pooled = transfer_table.pool_loso(folds, str(tmp_path))
  assert pooled['methods']['hrjax']['two_afc'] == pytest.approx((1.0 * 2 + 0.5 * 2) / 4)
  assert pooled['methods']['hrjax']['recording']['two_afc'] == pytest.approx(1.0)
  assert transfer_table.spread([0.9, 0.8]) == '0.850 ± 0.071 (0.800-0.900)'

  def plain(x):
    m = dict(two_afc=x, two_afc_ci95=[x - 0.05, x + 0.05],
             recording=dict(two_afc=1.0, two_afc_ci95=[1.0, 1.0]))
    return dict(store='st', split='test', clips=3, subjects=2, methods=dict(hrjax=m, chrom=m))

  reports = {'0': {'(config)': plain(0.9), 'ub': pooled}, '1': {'(config)': plain(0.8),
                                                                'ub': pooled}}
  text = transfer_table.markdown('c.py', 'cmd', reports, {'0': 1.0, '1': 2.0}, {'ub': True})
  assert '| st [test], 3 clips, 2 subjects: own generator' in text
  assert '0.850 ± 0.071 (0.800-0.900)' in text
  assert 'leave-one-subject-out | 0.750 ± 0.000' in text
  assert '| 1 | 0.800 | 0.750 | 2.0 |' in text
  lo, hi = pooled['methods']['hrjax']['two_afc_ci95']
  assert 0.5 <= lo < 0.75 < hi <= 1.0  # resampling subjects: a alone 1.0, b alone 0.5

  # Subjects left out together share one run's report: a 2-subject set in one fold.
  together = report({'a': 1.0, 'b': 0.5}, {'a': 1.0, 'b': 1.0})
  grouped = transfer_table.pool_loso({'a': together, 'b': together}, str(tmp_path))
  assert grouped['methods']['chrom']['two_afc'] == pytest.approx(0.75)
  assert transfer_table.held_out_label(grouped) == 'subject 1-fold'
  import transfer
  assert transfer.subject_folds(['1', '2', '3'], 5) == {'loso-1': ['1'], 'loso-2': ['2'],
                                                        'loso-3': ['3']}
  assert transfer.subject_folds([str(i) for i in range(1, 8)], 3) == {
      'fold1-of-3': ['1', '4', '7'], 'fold2-of-3': ['2', '5'], 'fold3-of-3': ['3', '6']}


def test_compare_arms_pairs_seeds_and_applies_the_spread_rule():
  """scripts/compare_arms.py's table on made-up per-seed figures: differences of one sign
  beyond their sd clear the rule; a mixed sign or a mean inside the sd does not."""
  sys.path.insert(0, 'scripts')
  import transfer_table
  assert transfer_table.verdict([0.02, 0.03, 0.025]) == 'yes'
  assert transfer_table.verdict([0.02, -0.01, 0.05]) == 'no'  # mixed signs
  assert transfer_table.verdict([0.001, 0.05, 0.002]) == 'no'  # mean 0.018 inside sd 0.028
  arms = {'ref': {'0': {'u': dict(two_afc=0.80)}, '1': {'u': dict(two_afc=0.90)}},
          'new': {'0': {'u': dict(two_afc=0.85)}, '1': {'u': dict(two_afc=0.93)},
                  '2': {'u': dict(two_afc=0.99)}}}
  lines = transfer_table.paired_table(arms, 'ref', 'u')
  assert '| new | 0.850, 0.930, 0.990 | 0.923 ± 0.070 | +0.050, +0.030 | 0.040 ± 0.014 | yes |' \
      in lines
