r"""Test-time views on held-out-subject folds: does scoring a video's mirror image or its
pixel shifts beside it, and averaging, change the 2AFC on faces the folds never saw?

  python scripts/test_views.py --runs runs/transfer-real/real --seeds 0,1,2 \
      --store data/ubfc-dev/face-store

Every fold workdir `RUNS-seedS/loso-*` (or `fold*`) of `scripts/transfer.py` scores the
store's test split once per view (as is; mirrored; shifted 2 pixels up, down, left, right;
and both); each view set averages its views' scores, and its figure pools the trials whose
heart is a left-out subject's, as the protocol does. Prints a Markdown table per seed and
the mean ± sd over seeds; with several seeds, also every ensemble of k seeds (their fold
models' mirrored scores averaged), pooled the same way.
"""

import dataclasses
import itertools
import json
import sys
from pathlib import Path

import numpy as np
from absl import app, flags, logging

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import transfer_table  # noqa: E402

from hrjax.data import clip_store  # noqa: E402
from hrjax.evaluation import metrics, recordings, scoring  # noqa: E402
from hrjax.training import parallel, restore  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string('runs', None, 'Workdir prefix: RUNS-seedS/loso-* are the folds.',
                    required=True)
flags.DEFINE_list('seeds', ['0'], 'Seeds (RUNS-seedS).')
flags.DEFINE_string('store', 'data/ubfc-dev/face-store', 'Store whose test split is scored.')
flags.DEFINE_list('view_sets', ['as is', 'mirrored too', 'shifted too', 'both'],
                  'View sets to score (the seed ensembles use "mirrored too").')

SHIFTS = ((2, 0), (-2, 0), (0, 2), (0, -2))
VIEW_SETS = {'as is': [(False, (0, 0))],
             'mirrored too': [(False, (0, 0)), (True, (0, 0))],
             'shifted too': [(False, (0, 0))] + [(False, s) for s in SHIFTS],
             'both': [(m, s) for m in (False, True) for s in ((0, 0),) + SHIFTS]}


def view(video: np.ndarray, mirror: bool, shift: tuple[int, int]) -> np.ndarray:
  v = scoring.mirrored(video) if mirror else video
  return np.ascontiguousarray(np.roll(v, shift, axis=(2, 3)) if any(shift) else v)


def fold_scores(workdir: Path, split: clip_store.Split, mesh) -> tuple[list[str], dict]:
  """A fold's left-out subjects and, per view set, its averaged `[N, N]` score matrix."""
  trained = restore.load(workdir)
  held_out = trained.config.train.mix_exclude.split(',')
  video = np.asarray(split.video)
  scores, chosen = {}, {name: VIEW_SETS[name] for name in FLAGS.view_sets}
  for key in {k for keys in chosen.values() for k in keys}:
    viewed = dataclasses.replace(split, video=view(video, *key))
    scores[key] = scoring.learned_scores(trained.model, trained.params, viewed, 32, mesh)
  return held_out, {name: np.mean([scores[k] for k in keys], axis=0)
                    for name, keys in chosen.items()}


def report(scores: dict[str, np.ndarray], split: clip_store.Split) -> dict:
  """Score matrices by method name -> a report-like dict (per-subject and per-recording 2AFC)."""
  methods = {name: dict(per_subject_two_afc=metrics.per_subject_two_afc(s, split.subjects),
                        recording=recordings.recording_two_afc(s, split.rows))
             for name, s in scores.items()}
  return dict(split='test', clips=len(split), subjects=len(set(split.subjects)),
              methods=methods)


def ensembles(fold_sets: dict[str, dict], split: clip_store.Split) -> dict[int, list[float]]:
  """{seed: {held-out subject: mirrored score matrix}} -> {k: pooled 2AFC of every k-seed
  ensemble (the seeds' fold models' scores averaged)}."""
  seeds = sorted(fold_sets)
  subjects = fold_sets[seeds[0]]
  out = {}
  for k in range(1, len(seeds) + 1):
    out[k] = []
    for combo in itertools.combinations(seeds, k):
      folds = {s: report({'mean': np.mean([fold_sets[c][s] for c in combo], axis=0)}, split)
               for s in subjects}
      out[k].append(transfer_table.pool_loso(folds, FLAGS.store)['methods']['mean']['two_afc'])
  return out


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  unknown = [v for v in FLAGS.view_sets if v not in VIEW_SETS]
  if unknown:
    raise app.UsageError(f'--view_sets: unknown {unknown}; known: {", ".join(VIEW_SETS)}')
  logging.set_verbosity(logging.WARNING)  # orbax logs every restore
  split = clip_store.open_split(FLAGS.store, 'test')
  mesh = parallel.data_mesh()
  pooled, mirrored = {}, {}
  for seed in FLAGS.seeds:
    base = Path(f'{FLAGS.runs}-seed{seed}')
    folds, mirrored[seed] = {}, {}
    for workdir in sorted([*base.glob('loso-*'), *base.glob('fold*')]):
      held_out, scores = fold_scores(workdir, split, mesh)
      folds.update({s: report(scores, split) for s in held_out})
      if 'mirrored too' in scores:
        mirrored[seed].update({s: scores['mirrored too'] for s in held_out})
    if not folds:
      raise SystemExit(f'{base}: no loso-* or fold* workdirs')
    pooled[seed] = transfer_table.pool_loso(folds, FLAGS.store)['methods']
    print(f'seed {seed}: ' + json.dumps({k: round(v['two_afc'], 3)
                                         for k, v in pooled[seed].items()}), flush=True)
  print(f'\n{FLAGS.store}, held-out subjects, 2AFC per clip (views averaged)\n')
  print('| views | ' + ' | '.join(f'seed {s}' for s in FLAGS.seeds) + ' | mean ± sd |')
  print('|' + ' --- |' * (len(FLAGS.seeds) + 2))
  for name in FLAGS.view_sets:
    values = [pooled[s][name]['two_afc'] for s in FLAGS.seeds]
    print(f'| {name} | ' + ' | '.join(f'{v:.3f}' for v in values)
          + f' | {transfer_table.mean_sd(values)} |')
  if len(FLAGS.seeds) > 1 and all(mirrored.values()):
    print('\nSeed ensembles (mirrored too; each seed\'s fold models\' scores averaged)\n')
    print('| seeds averaged | ensembles | 2AFC mean ± sd over ensembles | min - max |')
    print('| --- | --- | --- | --- |')
    for k, values in ensembles(mirrored, split).items():
      print(f'| {k} | {len(values)} | {transfer_table.mean_sd(values)} | '
            f'{min(values):.3f} - {max(values):.3f} |')


if __name__ == '__main__':
  app.run(main)
