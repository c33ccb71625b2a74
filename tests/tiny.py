"""The default experiment shrunk for tests (no side effects: subprocesses import it too)."""

from configs import default


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
