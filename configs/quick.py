"""The CPU quick run behind `make demo`: the default experiment, fewer steps.

  python -m hrjax.main --config configs/quick.py --workdir runs/quick
"""

from configs import default


def get_config(arg=None):
  c = default.get_config(arg)
  c.train.steps = 1500
  c.train.checkpoint_every = 500
  return c
