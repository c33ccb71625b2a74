"""Shared test setup: 8 fake CPU devices, absl flags parsed, one tiny synthetic store.

Everything is tiny (32-frame clips of 16x16 pixels, a few thousand parameters)
so that the whole suite compiles and runs in minutes on 2 cores.
"""

import os

os.environ['XLA_FLAGS'] = (os.environ.get('XLA_FLAGS', '') +
                           ' --xla_force_host_platform_device_count=8').strip()
os.environ.setdefault('JAX_PLATFORMS', 'cpu')

import pytest  # noqa: E402
from absl import flags  # noqa: E402

flags.FLAGS.mark_as_parsed()

from configs import default  # noqa: E402


def tiny_config(root, store, **changes):
  """The default experiment shrunk for tests: 14 subjects, 32 x 16 x 16 clips."""
  c = default.get_config()
  c.data.root, c.data.store = str(root), str(store)
  c.data.clip_frames, c.data.size = 32, 16
  c.data.train_stride, c.data.eval_stride = 16, 32
  c.data.split_fractions = (0.6, 0.1, 0.3)
  c.synthetic.num_subjects, c.synthetic.duration_s, c.synthetic.size = 14, 4.0, 40
  c.synthetic.knobs.crf = (12.0, 14.0)
  c.model.channels, c.model.features = (4, 8, 8), 2
  c.train.batch_size, c.train.steps, c.train.warmup_steps = 8, 6, 2
  c.train.log_every, c.train.checkpoint_every = 2, 3
  c.eval.bootstrap, c.eval.n_way, c.eval.n_way_trials = 50, (2, 3), 100
  for key, value in changes.items():
    section, name = key.split('.')
    c[section][name] = value
  return c


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
  from hrjax import train
  cfg, _ = tiny_data
  workdir = tmp_path_factory.mktemp('run') / 'full'
  report = train.train_and_evaluate(cfg, workdir, progress=False)
  return cfg, workdir, report
