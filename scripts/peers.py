r"""Pretrained rPPG peers (PyPI `open-rppg`: weights inside its wheel, nothing downloads) on the
very same test pairs as hrjax's reports.

  pip install -e '.[peers]'   # keras, onnxruntime, av; a separate virtualenv is safest
  python scripts/peers.py --store data/ubfc-dev/face-store --models FacePhys.rlap \
      --out runs/peers/ubfc-dev.json

Each clip of the store's test split (its face crops, as stored) goes through
`rppg.Model(name).process_faces_tensor(clip, fps)`; the model's raw BVP is then
band-passed, standardised and scored against every clip's heart exactly as the
classical baselines are (`baselines.pulse_scores`), and summarised as in every
report (2AFC with its interval over subjects, per recording). The output is a
report whose methods read `peer:NAME`. Models that emit nothing for a clip (ME-chunk
needs 160 frames) score 0 on it. open-rppg sets KERAS_BACKEND=jax and its own XLA
settings when imported: run this in its own process (scripts/transfer.py does).
"""

import json
import os
import sys
from pathlib import Path

os.environ.setdefault('KERAS_BACKEND', 'jax')
os.environ.setdefault('XLA_PYTHON_CLIENT_PREALLOCATE', 'false')

import numpy as np  # noqa: E402
import tqdm  # noqa: E402
from absl import app, flags  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from configs import default  # noqa: E402
from hrjax.data import clip_store  # noqa: E402
from hrjax.data.heart_series import butterworth_bandpass, zscore  # noqa: E402
from hrjax.evaluation import baselines, evaluate  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string('store', None, 'Clip store whose test split is scored.', required=True)
flags.DEFINE_list('models', ['FacePhys.rlap'], 'open-rppg model names.')
flags.DEFINE_integer('max_lag', 3, 'Heart-video lag searched, frames (as model.max_lag).')
flags.DEFINE_string('out', None, 'Report JSON to write.', required=True)
flags.DEFINE_boolean('progress', True, 'Show a progress bar.')


def peer_pulse(model, video: np.ndarray, fps: float) -> np.ndarray:
  """One clip `uint8 [T, S, S, 3]` -> the peer's BVP `[T]`, band-passed and standardised
  (zeros where the model gives no signal)."""
  model.process_faces_tensor(np.ascontiguousarray(video), fps)
  bvp, _ = model.bvp(raw=True)
  bvp = np.asarray(bvp, np.float64)
  t = video.shape[0]
  if bvp.size < t // 2:
    return np.zeros(t)
  bvp = np.interp(np.arange(t), np.linspace(0, t - 1, bvp.size), bvp)
  return zscore(butterworth_bandpass(bvp, fps))


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  try:
    import rppg
  except ImportError:
    raise SystemExit("open-rppg is not installed: pip install -e '.[peers]'") from None
  split = clip_store.open_split(FLAGS.store, 'test')
  fps = float(split.header['fps'])
  cfg = default.get_config()
  methods = {}
  for name in FLAGS.models:
    model = rppg.Model(name)
    pulse = np.stack([peer_pulse(model, np.asarray(split.video[i]), fps)
                      for i in tqdm.trange(len(split), desc=name, disable=not FLAGS.progress)])
    scores = baselines.pulse_scores(pulse, split, 'waveform', fps, FLAGS.max_lag)
    methods[f'peer:{name}'] = evaluate.summarise(scores, split.rows, cfg)
    print(f"peer:{name}: 2AFC {methods[f'peer:{name}']['two_afc']:.3f}", flush=True)
  report = dict(store=str(FLAGS.store), split='test', clips=len(split),
                subjects=int(len(set(split.subjects))), methods=methods)
  out = Path(FLAGS.out)
  out.parent.mkdir(parents=True, exist_ok=True)
  out.write_text(json.dumps(report, indent=1))


if __name__ == '__main__':
  app.run(main)
