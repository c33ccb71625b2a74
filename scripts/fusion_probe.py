r"""Do the learned model and a classical method err on the same pairs? Their scores averaged.

  python scripts/fusion_probe.py --workdirs 'runs/arm-R/real-pretrain-seed*' \
      --store data/ubfc-dev/face-store --store data/independent/store

Each workdir's model scores every test clip's heart against every video as evaluation does
(its logits divided by its learned scale: a lagged correlation, like the classical
methods' scores); the classical method's scores come from `baselines`. For each weight w in
`--weights`, the score `w * learned + (1 - w) * classical` is judged by 2AFC on the same
trials (w = 1: the model alone; 0: the classical method alone). Prints a Markdown table per
store: one row per workdir, the mean ± sd over workdirs last.
"""

import glob
import statistics
import sys
from pathlib import Path

import jax.numpy as jnp
import numpy as np
from absl import app, flags, logging

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hrjax.data import clip_store  # noqa: E402
from hrjax.evaluation import baselines, metrics, scoring  # noqa: E402
from hrjax.training import parallel, restore  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_list('workdirs', [], 'Trained workdirs (glob patterns allowed).')
flags.DEFINE_multi_string('store', ['data/ubfc-dev/face-store'], 'Stores whose test split is '
                          'scored.')
flags.DEFINE_string('method', 'chrom', 'The classical method: green, chrom or pos.')
flags.DEFINE_list('weights', ['1', '0.75', '0.5', '0.25', '0'], 'Weights of the learned score.')
flags.DEFINE_bool('mirror', True, "Score each video and its mirror image (the real recipe's "
                  'eval.mirror_average).')


def learned_correlations(workdir: str, split: clip_store.Split, mesh) -> np.ndarray:
  trained = restore.load(workdir)
  logits = scoring.learned_scores(trained.model, trained.params, split, 32, mesh,
                                  mirror=FLAGS.mirror)
  scale = float(jnp.exp(jnp.minimum(trained.params['log_scale'], jnp.log(100.0))))
  return np.asarray(logits) / scale


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  logging.set_verbosity(logging.WARNING)
  workdirs = sorted(w for pattern in FLAGS.workdirs for w in glob.glob(pattern))
  if not workdirs:
    raise app.UsageError(f'--workdirs {FLAGS.workdirs}: no such folders')
  weights = [float(w) for w in FLAGS.weights]
  mesh = parallel.data_mesh()
  for store in FLAGS.store:
    split = clip_store.open_split(store, 'test')
    cfg = restore.load_config(workdirs[0])
    classical = baselines.baseline_scores(FLAGS.method, split, 'waveform', cfg.data.fps,
                                          cfg.model.max_lag)
    rows = []
    for workdir in workdirs:
      learned = learned_correlations(workdir, split, mesh)
      rows.append([metrics.two_afc(w * learned + (1 - w) * classical, split.subjects)
                   for w in weights])
    print(f'\n{store} [test], {len(split)} clips: 2AFC of w * hrjax + (1 - w) * '
          f'{FLAGS.method} (scores as correlations)\n')
    print('| workdir | ' + ' | '.join(f'w = {w:g}' for w in weights) + ' |')
    print('|' + ' --- |' * (len(weights) + 1))
    for workdir, row in zip(workdirs, rows):
      print(f'| {workdir} | ' + ' | '.join(f'{v:.3f}' for v in row) + ' |')
    cols = list(zip(*rows))
    sd = [statistics.stdev(c) if len(c) > 1 else 0.0 for c in cols]
    print('| mean ± sd | ' + ' | '.join(f'{statistics.fmean(c):.3f} ± {s:.3f}'
                                         for c, s in zip(cols, sd)) + ' |', flush=True)


if __name__ == '__main__':
  app.run(main)
