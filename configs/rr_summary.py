"""The thesis's heart input: mean RR interval and its coefficient of variation (an MLP).

  python -m hrjax.main --config configs/rr_summary.py --workdir runs/rr_summary
"""

from configs import default


def get_config(arg=None):
  c = default.get_config(arg)
  c.model.representation = 'rr_summary'
  return c
