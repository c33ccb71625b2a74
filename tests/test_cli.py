"""The command line: --help explains, a misspelt config key stops with its name."""

import os
import platform
import subprocess
import sys

import pytest

from hrjax import cli


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


@pytest.mark.skipif(sys.platform != 'linux' or platform.libc_ver()[0] != 'glibc',
                    reason='glibc only')
def test_main_reruns_itself_with_huge_pages_for_malloc_unless_told_otherwise():
  code = ('import os; from hrjax import cli; cli.tune_malloc(); '
          'print(os.environ.get("GLIBC_TUNABLES"))')
  env = {k: v for k, v in os.environ.items() if k not in ('GLIBC_TUNABLES', 'HRJAX_MALLOC_TUNING')}

  def tunables(**extra):
    out = subprocess.run([sys.executable, '-c', code], env=dict(env, **extra),
                         capture_output=True, text=True, timeout=60)
    return out.stdout.strip()

  assert tunables() == cli.MALLOC_TUNING
  assert tunables(GLIBC_TUNABLES='glibc.malloc.arena_max=2') == 'glibc.malloc.arena_max=2'
  assert tunables(HRJAX_MALLOC_TUNING='0') == 'None'
