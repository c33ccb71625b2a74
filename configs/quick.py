"""The CPU quick run behind `make demo`: the default experiment, fewer steps, and what the
out-of-domain protocol (`scripts/transfer.py`, docs/transfer.md) found to carry over to faces
the model never saw (docs/transfer/arms-2026-12-05.md), in a data folder of its own:
- the face's pulse may lead or lag the recorded heart signal by up to 3 frames either way
  (a fingertip PPG lags the face's pulse; an oximeter's own delay can reverse that);
- half the recordings are written as web copies, 4:2:0 H.264 at 8-32 kbit/s of the
  96-pixel frame, as the public copies of rPPG datasets are (docs/transfer/web-copies.md);
- a negative-Pearson term pulls the learned pulse toward the recorded one;
- pairs are scored with CHROM's pulse beside the learned channels (a quarter of the
  score; evaluation and prediction only, not the training loss), and each clip is scored
  as seen and mirrored.
1000 steps: five seeds of 1000 scored as five of 1500 on every test set of the protocol,
own, real and independent (docs/transfer/steps-1000.md), and the demo fits five minutes.

  python -m hrjax.main --config configs/quick.py --workdir runs/quick
"""

from configs import default


def get_config(arg=None):
  c = default.get_config(arg)
  c.train.steps = 1000
  c.train.checkpoint_every = 500
  c.synthetic.knobs.lag_frames = (-3.0, 3.0)
  c.synthetic.knobs.web_copy = (0.5, 0.5)
  c.synthetic.knobs.kbit_s = (8.0, 32.0)
  folder = c.data.root.removesuffix('/raw') + '-web'  # data/synthetic-default-web
  c.data.root, c.data.store = f'{folder}/raw', f'{folder}/store'
  c.train.pearson_weight = 1.0
  c.model.classical = 'chrom'
  c.eval.mirror_average = True
  return c
