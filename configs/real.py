"""The recipe for real faces: a synthetic model fine-tuned on real recordings mixed into
every batch.

  python -m hrjax.main --config configs/real.py:pretrain --workdir runs/real-synthetic
  python -m hrjax.main --config configs/real.py --workdir runs/real \
      --config.train.init_from=runs/real-synthetic

`make real` runs both, with the out-of-domain protocol (`scripts/transfer.py`) between.
`:pretrain` is the demo recipe (`configs/quick.py`) with what the protocol found to carry
over to faces it never saw (docs/transfer/arms-2026-12-05.md), in its own data folder:
- the face's pulse may lead or lag the recorded heart signal by up to 3 frames either way
  (a fingertip PPG lags the face's pulse; an oximeter's own delay can reverse that);
- half the recordings are written as web copies, 4:2:0 H.264 at 8-32 kbit/s of the
  96-pixel frame, as the public copies of rPPG datasets are (docs/transfer/web-copies.md);
- a negative-Pearson term pulls the learned pulse toward the recorded one;
- pairs are scored with CHROM's pulse beside the learned channels (a quarter of the
  score; evaluation and prediction only, not the training loss).
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
  c.synthetic.knobs.lag_frames = (-3.0, 3.0)
  c.synthetic.knobs.web_copy = (0.5, 0.5)
  c.synthetic.knobs.kbit_s = (8.0, 32.0)
  c.data.root, c.data.store = 'data/synthetic-real/raw', 'data/synthetic-real/store'
  c.data.predict_crop = 'face'  # a user's videos are real faces, not centred synthetic ones
  c.train.pearson_weight = 1.0
  c.model.classical = 'chrom'
  c.eval.mirror_average = True  # docs/transfer.md: the fine-tuned seeds' folds, with and without
  if arg == 'pretrain':
    return c
  c.train.mix = 'data/ubfc-dev/face-train@3'
  c.train.steps = 300
  c.train.learning_rate = 1e-3
  c.train.warmup_steps = 20
  c.train.checkpoint_every = 100
  return c
