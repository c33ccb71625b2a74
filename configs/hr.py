"""Rate-only heart representation: the heart signal is a heart rate, no waveform, no phase.

  python -m hrjax.main --config configs/hr.py --workdir runs/hr
"""

from configs import default


def get_config(arg=None):
  c = default.get_config(arg)
  c.model.representation = 'hr'
  return c
