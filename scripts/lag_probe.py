r"""Where a trained model finds the heart in a video: the lag of each true pair's best match.

  python scripts/lag_probe.py --workdir runs/transfer-lag/real-pretrain-seed0 \
      --store data/synthetic-lag/store --store data/ubfc-dev/face-store \
      --store data/independent/store --max_lag 8

The waveform score is the best correlation of the video's and the heart's pulse features
over lags of ±`model.max_lag` frames. A store whose face pulse is delayed differently from
the training data's puts its true pairs' best lags at the edge of that window, or past it,
where the score cannot follow. For every clip of a store's test split this encodes its
video and heart as evaluation does and finds the lag (over ±`--max_lag`, wider than the
model's) of their best correlation; prints per store the share of clips at each lag, the
share inside the model's window and the mean correlation at the best lag inside and
outside it.
"""

import sys
from pathlib import Path

import numpy as np
from absl import app, flags

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hrjax.data import clip_store, pipeline  # noqa: E402
from hrjax.evaluation import scoring  # noqa: E402
from hrjax.models import spectral  # noqa: E402
from hrjax.training import distributed, parallel, restore  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string('workdir', None, 'A trained workdir (waveform heart).', required=True)
flags.DEFINE_multi_string('store', [], 'Stores whose test split is probed (repeat).')
flags.DEFINE_integer('max_lag', 8, 'Lags searched, frames each way.')
flags.DEFINE_integer('step', None, 'Checkpoint step (default: the latest).')


def best_lags(trained, split: clip_store.Split, max_lag: int) -> tuple[np.ndarray, np.ndarray]:
  """Each clip's lag of the best correlation of its own heart and video `[N]`, and the
  correlation at every lag `[N, 2 max_lag + 1]`."""
  mesh = parallel.data_mesh()
  scorer = scoring.compile_scoring(trained.model, mesh)
  hs, vs = [], []
  for batch, n in pipeline.eval_batches(split, trained.config.eval.batch_size):
    b = parallel.put_batch(distributed.process_slice(batch), mesh)
    vs.append(np.asarray(scorer.encode_video(trained.params, b['video']))[:n])
    hs.append(np.asarray(scorer.encode_heart(trained.params, b['heart'], b['rr']))[:n])
  corr = np.asarray(spectral.paired_lagged_correlation(np.concatenate(hs), np.concatenate(vs),
                                                       max_lag))
  return corr.argmax(-1) - max_lag, corr


def store_table(name: str, lags: np.ndarray, corr: np.ndarray, model_lag: int) -> str:
  wide = (corr.shape[1] - 1) // 2
  inside = np.abs(lags) <= model_lag
  window = corr[:, wide - model_lag:wide + model_lag + 1].max(-1)
  counts = [f'{v:+d}: {np.mean(lags == v):.2f}' for v in range(-wide, wide + 1)]
  return (f'{name}: {len(lags)} clips; best lag inside ±{model_lag}: {inside.mean():.2f}; '
          f'mean lag {lags.mean():+.2f}; best correlation {corr.max(-1).mean():.3f}, '
          f'within the window {window.mean():.3f}\n  share by lag: ' + ', '.join(counts))


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  trained = restore.load(FLAGS.workdir, FLAGS.step)
  if trained.config.model.representation != 'waveform':
    raise SystemExit(f'lag_probe: error: {FLAGS.workdir}: the heart is '
                     f'{trained.config.model.representation!r}; lags need a waveform')
  for store in FLAGS.store or [trained.config.data.store]:
    split = clip_store.open_split(store, 'test')
    lags, corr = best_lags(trained, split, FLAGS.max_lag)
    print(store_table(store, lags, corr, trained.config.model.max_lag))


if __name__ == '__main__':
  app.run(main)
