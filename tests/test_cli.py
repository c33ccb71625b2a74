"""The command line: --help explains, a misspelt config key stops with its name."""

import subprocess
import sys


def _run(*args):
  return subprocess.run([sys.executable, '-m', 'hrjax.main', *args], capture_output=True,
                        text=True, timeout=120)


def test_help_lists_the_flags():
  out = _run('--helpshort')  # absl exits with status 1 after help
  for flag in ('--config', '--workdir', '--mode'):
    assert flag in out.stdout


def test_unknown_config_key_fails_with_its_name(tmp_path):
  out = _run('--config=configs/quick.py', f'--workdir={tmp_path}', '--config.train.stepz=5')
  assert out.returncode != 0
  assert 'stepz' in out.stderr
  assert not any(tmp_path.iterdir())  # nothing started


def test_extract_script_help():
  out = subprocess.run([sys.executable, 'scripts/extract.py', '--help'],
                       capture_output=True, text=True, timeout=120)
  assert '--dataset' in out.stdout and 'skip_bad' in out.stdout
