r"""Which parts of a real face carry the heartbeat: per-region 2AFC and attribution shares.

  python scripts/real_face_regions.py --store data/ubfc-dev/detectors/mediapipe \
      --checkpoints 'runs/arm-final/real-pretrain-seed{seed}' --seeds 0,1,2,3,4 \
      --loso 'runs/arm-final/real-seed{seed}/loso-{subject}' \
      --out docs/real_regions.md --figure docs/figures/real-face-regions.png

The store's region maps come from FaceMesh landmarks (`scripts/extract.py
--face_detector=mediapipe`). Two questions, each on faces the model never trained on:

1. How well does each region alone pair a face with its heart? Every method scores the
   clips with the changes outside the region removed (`eval.regions`,
   `hrjax/evaluation/region_input.py`): hrjax with each `--checkpoints` seed (mean ± sd),
   CHROM, GREEN and POS with intervals over subjects.
2. Where does the model look? Integrated gradients of the `--checkpoints` models on every
   clip, summed per region; with `--loso`, also of the fine-tuned real-face model of each
   fold on its own left-out subject only. Shares pooled over seeds, with 95% intervals over
   subjects resampled; the same for the checkpoints' own synthetic test split (its
   generator's regions), for the answer side by side. The synthetic maps label nose and
   chin as other skin when written before those labels existed, so the side-by-side table
   counts them together.
"""

import json
import sys
from pathlib import Path

import numpy as np
from absl import app, flags

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hrjax import cli  # noqa: E402
from hrjax.data import clip_store  # noqa: E402
from hrjax.evaluation import (  # noqa: E402
  evaluate,
  figures,
  metrics,
  region_input,
  saliency,
  scoring,  # noqa: E402
)
from hrjax.training import restore  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string('store', 'data/ubfc-dev/detectors/mediapipe', 'Clip store of real faces with '
                    'landmark region maps (its test split).')
flags.DEFINE_string('checkpoints', 'runs/arm-final/real-pretrain-seed{seed}',
                    'Workdirs of models never trained on these faces, {seed} replaced.')
flags.DEFINE_list('seeds', ['0', '1', '2', '3', '4'], 'Seeds of the checkpoints.')
flags.DEFINE_string('loso', '', 'Workdirs of fine-tuned models with one subject left out, '
                    '{seed} and {subject} replaced (each explains its left-out subject).')
flags.DEFINE_list('regions', ['all', 'skin', 'forehead', 'cheeks', 'nose', 'chin_jaw',
                              'other_skin', 'non_skin'], 'Input restrictions to score.')
flags.DEFINE_integer('clips', 64, 'Clips per model to attribute (all, when fewer).')
flags.DEFINE_integer('steps', 16, 'Integrated-gradient path steps.')
flags.DEFINE_string('out', 'docs/real_regions.md', 'Markdown tables (a .json beside it).')
flags.DEFINE_string('figure', 'docs/figures/real-face-regions.png', 'The PNG.')

BASELINES = ('chrom', 'green', 'pos')
# Regions comparable between real and synthetic maps (nose and chin were other skin once).
COARSE = {'forehead': ('forehead',), 'cheeks': ('left_cheek', 'right_cheek'),
          'rest of the skin': ('other_skin', 'nose', 'chin_jaw'), 'non_skin': ('non_skin',)}


def region_pairing() -> dict:
  """{region: {'hrjax': [2AFC per seed], method: (2AFC, [lo, hi])}}."""
  out = {r: {'hrjax': []} for r in FLAGS.regions}
  for k, seed in enumerate(FLAGS.seeds):
    workdir = FLAGS.checkpoints.replace('{seed}', seed)
    cfg = restore.load_config(workdir)
    built, trained = restore.restore(cfg, workdir)
    cfg.data.store, cfg.data.eval_split = FLAGS.store, 'test'
    cfg.eval.baselines = BASELINES if k == 0 else ()  # they have no seed
    for region in FLAGS.regions:
      cfg.eval.regions = '' if region == 'all' else region
      methods = evaluate.evaluate(trained.model, trained.params, cfg, built.mesh)['methods']
      out[region]['hrjax'].append(methods['hrjax']['two_afc'])
      for name in cfg.eval.baselines:
        out[region][name] = (methods[name]['two_afc'], methods[name]['two_afc_ci95'])
      print(f'seed {seed} {region}: hrjax {methods["hrjax"]["two_afc"]:.3f}', flush=True)
  return out


def loso_pairing(subjects: list[str]) -> dict:
  """{region: [2AFC per seed]} of the fine-tuned fold models: each fold's model scores the
  region-restricted clips, and only the trials whose heart is its left-out subject count
  (pooled over the folds of a seed, as scripts/transfer.py pools them)."""
  split = clip_store.open_split(FLAGS.store, 'test')
  who = split.subjects
  out = {r: [] for r in FLAGS.regions}
  for seed in FLAGS.seeds:
    right = {r: 0.0 for r in FLAGS.regions}
    trials = {r: 0 for r in FLAGS.regions}
    for subject in subjects:
      workdir = FLAGS.loso.replace('{seed}', seed).replace('{subject}', subject)
      cfg = restore.load_config(workdir)
      built, trained = restore.restore(cfg, workdir)
      for region in FLAGS.regions:
        clips = split if region == 'all' else region_input.restrict(split, region, FLAGS.store)
        scores = scoring.learned_scores(trained.model, trained.params, clips,
                                        cfg.eval.batch_size, built.mesh)
        outcome, foils = metrics.trial_outcomes(scores, who)
        mask = foils & (who[:, None] == subject)
        right[region] += float(outcome[mask].sum())
        trials[region] += int(mask.sum())
    for region in FLAGS.regions:
      out[region].append(right[region] / trials[region])
    print(f'seed {seed} fine-tuned: ' + ', '.join(f'{r} {out[r][-1]:.3f}' for r in out),
          flush=True)
  return out


def attributions(runs: list[tuple[str, list[str] | None]], store: str | None) -> list[dict]:
  """`saliency.compute` of each (workdir, its held-out subjects or None for all)."""
  return [saliency.compute(w, store, 'test', FLAGS.clips, FLAGS.steps, only_subjects=only)
          for w, only in runs]


def pooled(results: list[dict], groups: dict | None = None) -> dict:
  """Region shares of all the results' clips together (intervals over subjects), and the
  spread of each result's own score share."""
  net = np.concatenate([r['net'] for r in results])
  maps = [m for r in results for m in r['maps']]
  subjects = [s for r in results for s in r['clip_subjects']]
  shares = saliency.region_shares(net, maps, results[0]['region_names'], subjects,
                                  groups=groups)
  for name, v in shares.items():
    each = [saliency.region_shares(r['net'], r['maps'], r['region_names'], groups=groups)[name]
            for r in results]
    v['score_share_sd'] = float(np.std([e['score_share'] for e in each], ddof=1)
                                if len(each) > 1 else 0.0)
  return shares


def pairing_table(pairing: dict, tuned: dict | None = None) -> str:
  extra = ' fine-tuned, each fold on its left-out subject |' if tuned else ''
  lines = ['| input | hrjax 2AFC, mean ± sd over seeds |' + extra + ' ' + ' | '.join(
      f'{m.upper()} 2AFC [95% CI]' for m in BASELINES) + ' |',
      '|' + ' --- |' * (5 + bool(tuned))]
  mean_sd = lambda x: (f'{np.mean(x):.3f} ± {np.std(x, ddof=1) if len(x) > 1 else 0:.3f} '
                       f'({len(x)})')
  for region, v in pairing.items():
    cells = [mean_sd(v['hrjax'])] + ([mean_sd(tuned[region])] if tuned else [])
    cells += [f'{v[m][0]:.3f} [{v[m][1][0]:.3f}, {v[m][1][1]:.3f}]' for m in BASELINES]
    lines.append(f'| {region} | ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines)


def shares_table(columns: dict[str, dict]) -> str:
  names = list(next(iter(columns.values())))
  head = ' | '.join(f'{c}: score share [95% CI over subjects], area' for c in columns)
  lines = [f'| region | {head} |', '|' + ' --- |' * (1 + len(columns))]
  for name in names:
    cells = []
    for shares in columns.values():
      v = shares.get(name)
      cells.append('-' if v is None else
                   f"{v['score_share']:.1%} [{v['score_share_ci'][0]:.1%}, "
                   f"{v['score_share_ci'][1]:.1%}], sd {v['score_share_sd']:.1%}; area "
                   f"{v['area']:.1%}")
    lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines)


def draw(pairing: dict, real: dict, synthetic: dict):
  plt = figures.pyplot()
  fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.2))
  regions = list(pairing)
  x = np.arange(len(regions))
  hr = [np.array(pairing[r]['hrjax']) for r in regions]
  a.bar(x - 0.2, [h.mean() for h in hr], 0.4, yerr=[h.std(ddof=1) if len(h) > 1 else 0
                                                     for h in hr], label='hrjax (mean ± sd, seeds)')
  chrom = np.array([pairing[r]['chrom'][0] for r in regions])
  ci = np.array([pairing[r]['chrom'][1] for r in regions])
  a.bar(x + 0.2, chrom, 0.4, yerr=[chrom - ci[:, 0], ci[:, 1] - chrom],
        label='CHROM (95% CI, subjects)')
  a.axhline(0.5, color='grey', lw=0.8)
  a.set_xticks(x, regions, rotation=30, fontsize=8)
  a.set_ylim(0.4, 1.0)
  a.set_ylabel('2AFC')
  a.set_title('each region alone (the rest held still)', fontsize=9)
  a.legend(fontsize=8)
  names = list(real)
  x = np.arange(len(names))
  for off, (label, shares) in zip((-0.2, 0.2), (('real (ubfc-dev)', real),
                                                 ('synthetic (own test split)', synthetic))):
    vals = np.array([shares[n]['score_share'] if n in shares else np.nan for n in names])
    lo = np.array([shares[n]['score_share_ci'][0] if n in shares else np.nan for n in names])
    hi = np.array([shares[n]['score_share_ci'][1] if n in shares else np.nan for n in names])
    b.bar(x + off, vals, 0.4, yerr=[vals - lo, hi - vals], label=label)
    b.scatter(x + off, [shares[n]['area'] if n in shares else np.nan for n in names],
              marker='_', s=300, color='k')
  b.set_xticks(x, names, fontsize=8)
  b.set_ylabel("share of the model's score (bar) and of the image (line)")
  b.set_title('where the demo-recipe model looks (integrated gradients)', fontsize=9)
  b.legend(fontsize=8)
  fig.tight_layout()
  return fig


def main(argv):
  cli.start(argv)
  with cli.user_errors('real_face_regions'):
    header = clip_store.read_header(FLAGS.store)
    if not header.get('region_names'):
      raise ValueError(f'{FLAGS.store}: no region maps (extract with --face_detector=mediapipe)')
    pairing = region_pairing()
    subjects = sorted(header['subjects'], key=lambda s: (len(s), s))
    tuned = loso_pairing(subjects) if FLAGS.loso else None
    runs = [(FLAGS.checkpoints.replace('{seed}', s), None) for s in FLAGS.seeds]
    real = attributions(runs, FLAGS.store)
    synthetic = attributions(runs, None)  # each checkpoint's own store, test split
    columns = {'real, demo recipe': pooled(real)}
    if FLAGS.loso:
      loso = [(FLAGS.loso.replace('{seed}', s).replace('{subject}', subject), [subject])
              for s in FLAGS.seeds for subject in subjects]
      columns['real, fine-tuned (each fold on its left-out subject)'] = pooled(
          attributions(loso, FLAGS.store))
    coarse = {'real': pooled(real, COARSE), 'synthetic': pooled(synthetic, COARSE)}
  command = 'python scripts/real_face_regions.py ' + ' '.join(sys.argv[1:])
  text = (f'# Regions of real faces\n\n`{command}`\n\n## Each region alone\n\n'
          f'{pairing_table(pairing, tuned)}\n\n## Attribution by region\n\n'
          f'{shares_table(columns)}\n\n'
          f'## Real beside synthetic (nose and chin counted with other skin)\n\n'
          f'{shares_table(coarse)}\n')
  print(text)
  out = Path(FLAGS.out)
  out.parent.mkdir(parents=True, exist_ok=True)
  out.write_text(text)
  out.with_suffix('.json').write_text(json.dumps(dict(pairing=pairing, tuned_pairing=tuned,
                                                      shares=columns, coarse=coarse), indent=1))
  figures.save_png(draw(pairing, coarse['real'], coarse['synthetic']), FLAGS.figure)


if __name__ == '__main__':
  app.run(main)
