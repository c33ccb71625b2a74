"""The recipe for real faces: the synthetic model (`configs/quick.py`) fine-tuned on real
recordings mixed into every batch.

  python -m hrjax.main --config configs/quick.py --workdir runs/real/synthetic
  python -m hrjax.main --config configs/real.py --workdir runs/real \
      --config.train.init_from=runs/real/synthetic

`make real` runs both, then the out-of-domain protocol (`scripts/transfer.py`). The real
clips come from `train.mix`: a store extracted from `../shared/data/ubfc-dev` (UBFC-rPPG
layout, face crop, every subject in its train split) by `scripts/transfer.py`, or point it
at a store of your own labelled recordings (`scripts/extract.py --split_fractions=1,0,0`).
Each batch holds `batch_size - 3` synthetic clips and 3 real ones, all of distinct subjects.
"""

from configs import quick


def get_config(arg=None):
  c = quick.get_config(arg)
  c.data.predict_crop = 'face'  # a user's videos are real faces, not centred synthetic ones
  c.train.mix = 'data/ubfc-dev/face-train@3'
  c.train.steps = 300
  c.train.learning_rate = 1e-3
  c.train.warmup_steps = 20
  c.train.checkpoint_every = 100
  return c
