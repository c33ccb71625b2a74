"""Shared test setup: 8 fake CPU devices, absl flags parsed, one tiny synthetic store.

Everything is tiny (`configs/default.py:runlocal`: 32-frame clips of 16x16 pixels,
a few thousand parameters) so that the whole suite compiles and runs in minutes on
2 cores.
"""

import os

os.environ['XLA_FLAGS'] = (os.environ.get('XLA_FLAGS', '') +
                           ' --xla_force_host_platform_device_count=8').strip()
os.environ.setdefault('JAX_PLATFORMS', 'cpu')

import pytest  # noqa: E402
from absl import flags  # noqa: E402

flags.FLAGS.mark_as_parsed()

from tests.tiny import tiny_config  # noqa: E402,F401  (tests import it from here)


@pytest.fixture(scope='session')
def tiny_data(tmp_path_factory):
  """(config, store path): a generated dataset extracted into a clip store, built once."""
  from hrjax.data import prepare
  base = tmp_path_factory.mktemp('tiny')
  cfg = tiny_config(base / 'raw', base / 'store')
  store = prepare.ensure_store(cfg, progress=False)
  return cfg, store


@pytest.fixture(scope='session')
def tiny_run(tiny_data, tmp_path_factory):
  """(config, workdir, report): the tiny config trained (6 steps) and evaluated once."""
  from hrjax.training import train
  cfg, _ = tiny_data
  workdir = tmp_path_factory.mktemp('run') / 'full'
  report = train.train_and_evaluate(cfg, workdir, progress=False)
  return cfg, workdir, report
