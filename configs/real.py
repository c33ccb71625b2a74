"""The recipe for real faces: a synthetic model fine-tuned on real recordings mixed into
every batch.

  python -m hrjax.main --config configs/real.py:pretrain --workdir runs/real-synthetic
  python -m hrjax.main --config configs/real.py --workdir runs/real \
      --config.train.init_from=runs/real-synthetic

`make real` runs both, with the out-of-domain protocol (`scripts/transfer.py`) between.
`:pretrain` is the demo recipe (`configs/quick.py`: what the out-of-domain protocol
found to carry over to faces it never saw), with a user's videos face-cropped at prediction.
The fine-tuning stage takes its real clips from `train.mix`: a store extracted from
`../shared/data/ubfc-dev` (UBFC-rPPG layout, face crop, every subject in its train split)
by `scripts/transfer.py`, or a store of your own labelled recordings
(`scripts/extract.py --split_fractions=1,0,0`). Each batch holds `batch_size - 3`
synthetic clips and 3 real ones, all of distinct subjects.
"""

from configs import quick


def get_config(arg=None):
  if arg not in (None, '', 'pretrain'):
    raise ValueError(f'config argument {arg!r}: expected nothing or pretrain')
  c = quick.get_config()
  c.data.predict_crop = 'face'  # a user's videos are real faces, not centred synthetic ones
  if arg == 'pretrain':
    return c
  c.train.mix = 'data/ubfc-dev/face-train@3'
  c.train.steps = 300
  c.train.learning_rate = 1e-3
  c.train.warmup_steps = 20
  c.train.checkpoint_every = 100
  return c
