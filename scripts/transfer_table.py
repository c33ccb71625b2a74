"""scripts/transfer.py's arithmetic and tables: leave-one-subject-out pooling, and the
Markdown of mean ± sd over seeds beside the classical methods on the same pairs."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import numpy as np

from hrjax.evaluation.report import recording_cell, two_afc_cell


def _trials(store: str) -> tuple[dict, dict]:
  """Per subject: clip trials and recording trials whose heart is that subject's."""
  rows = [json.loads(r) for r in (Path(store) / 'test' / 'clips.jsonl').read_text().splitlines()]
  clips, recs = {}, {}
  for r in rows:
    clips[r['subject']] = clips.get(r['subject'], 0) + 1
    recs.setdefault(r['subject'], set()).add(r.get('recording', r['subject']))
  n, m = sum(clips.values()), sum(len(v) for v in recs.values())
  return ({s: c * (n - c) for s, c in clips.items()},
          {s: len(v) * (m - len(v)) for s, v in recs.items()})


def pool_loso(folds: dict[str, dict], store: str, resamples: int = 1000, seed: int = 0) -> dict:
  """Reports of held-out-subject runs ({held-out subject: the report, on `store`, of the run
  that left it out}; subjects left out together share a report) -> one report-like dict: per
  method, the 2AFC (and per-recording 2AFC) over the trials whose heart is a held-out
  subject's, pooled over the folds (every trial of the set once), with a 95% interval from
  resampling subjects (their trial-weighted accuracies)."""
  clip_trials, rec_trials = _trials(store)
  first = next(iter(folds.values()))
  subjects = list(folds)
  draws = np.random.default_rng(seed).integers(0, len(subjects), (resamples, len(subjects)))
  methods = {}
  for name in first['methods']:
    clip = _pooled([folds[s]['methods'][name]['per_subject_two_afc'][s] for s in subjects],
                   [clip_trials[s] for s in subjects], draws)
    rec = _pooled([folds[s]['methods'][name]['recording']['per_subject'][s] for s in subjects],
                  [rec_trials[s] for s in subjects], draws)
    methods[name] = dict(two_afc=clip[0], two_afc_ci95=clip[1],
                         recording=dict(two_afc=rec[0], two_afc_ci95=rec[1]))
  runs = len({id(r) for r in folds.values()})
  return dict(store=store, split=first['split'], clips=first['clips'],
              subjects=first['subjects'], loso=True, folds=runs, methods=methods)


def _pooled(accuracy: list[float], trials: list[int], draws: np.ndarray) -> tuple[float, list]:
  """Trial-weighted mean accuracy over subjects, and its 2.5-97.5% range over `draws`
  (rows of subject indices drawn with replacement)."""
  a, w = np.asarray(accuracy, float), np.asarray(trials, float)
  boot = (a[draws] * w[draws]).sum(1) / np.maximum(w[draws].sum(1), 1e-12)
  return float((a * w).sum() / w.sum()), [float(q) for q in np.percentile(boot, [2.5, 97.5])]


def spread(values: list[float]) -> str:
  """Mean, sample standard deviation and range over seeds."""
  if len(values) == 1:
    return f'{values[0]:.3f} (1 seed)'
  return (f'{statistics.fmean(values):.3f} ± {statistics.stdev(values):.3f} '
          f'({min(values):.3f}-{max(values):.3f})')


def _cell(method: dict) -> str:
  """A classical method's clip and per-recording 2AFC (intervals where not pooled)."""
  if 'two_afc_ci95' in method:
    return f'{two_afc_cell(method)}; rec {recording_cell(method)}'
  return f"{method['two_afc']:.3f}; rec {method['recording']['two_afc']:.3f}"


def held_out_label(report: dict) -> str:
  folds = report.get('folds', report['subjects'])
  return ('leave-one-subject-out' if folds == report['subjects']
          else f'subject {folds}-fold')


def set_label(store: str, report: dict) -> str:
  kind = 'own generator, test split (reference only, not for choosing)' if store == '(config)' \
      else held_out_label(report) if report.get('loso') else 'never trained on'
  return (f"{report['store']} [{report['split']}], {report['clips']} clips, "
          f"{report['subjects']} subjects: {kind}")


def summary_rows(reports: dict[str, dict], peers: dict[str, dict]) -> list[str]:
  """One row per test set: hrjax over seeds, then each classical method and each pretrained
  peer (`peers`: {store: scripts/peers.py report}), all seed-free, on the same pairs."""
  seeds = list(reports)
  first = reports[seeds[0]]
  baselines = [n for n in next(iter(first.values()))['methods'] if n != 'hrjax']
  peer_names = sorted({n for r in peers.values() for n in r['methods']})
  spread_of = 'mean ± sd (range)' if len(seeds) > 1 else '[95% over subjects], 1 seed'
  head = ['test set', f'hrjax 2AFC per clip, {spread_of}', 'hrjax per recording'] + [
      f'{b.upper()} (clip; rec)' for b in baselines] + [f'{p} (clip; rec)' for p in peer_names]
  lines = ['| ' + ' | '.join(head) + ' |', '|' + ' --- |' * len(head)]
  for store, rep in first.items():
    hr = [reports[s][store]['methods']['hrjax'] for s in seeds]
    cells = [set_label(store, rep), spread([m['two_afc'] for m in hr]),
             spread([m['recording']['two_afc'] for m in hr])]
    if len(seeds) == 1:  # one seed: its interval over subjects instead
      cells[1:] = [two_afc_cell(hr[0]), recording_cell(hr[0])]
    cells += [_cell(rep['methods'][b]) for b in baselines]
    cells += [_cell(peers[store]['methods'][p]) if p in peers.get(store, {}).get('methods', {})
              else '-' for p in peer_names]
    lines.append('| ' + ' | '.join(cells) + ' |')
  return lines


def seed_figures(reports: dict[str, dict]) -> dict:
  """{seed: {test set: hrjax's 2AFC per clip and per recording}}: what `scripts/
  compare_arms.py` pairs seed by seed across recipes."""
  return {seed: {store: dict(two_afc=rep['methods']['hrjax']['two_afc'],
                             recording=rep['methods']['hrjax']['recording']['two_afc'])
                 for store, rep in by_store.items()}
          for seed, by_store in reports.items()}


def markdown(config: str, command: str, reports: dict[str, dict], minutes: dict[str, float],
             loso: dict[str, bool], peers: dict[str, dict] | None = None,
             notes: tuple[str, ...] = ()) -> str:
  seeds = list(reports)
  stores = list(reports[seeds[0]])
  out = [f'# Out-of-domain protocol: {config}, {len(seeds)} seed(s)', '', f'`{command}`', '',
         'Per clip: 2AFC over every trial (heart, its video, a video of another '
         'subject). Per recording: whole recordings, mean clip score (as `hrjax.predict`). '
         'Classical methods have no seed; their intervals are over subjects.', ''] + \
      summary_rows(reports, peers or {})
  out += ['', '| seed | ' + ' | '.join(s if s != '(config)' else 'own test split'
                                      for s in stores) + ' | minutes |',
          '|' + ' --- |' * (len(stores) + 2)]
  for seed in seeds:
    out.append(f'| {seed} | ' + ' | '.join(
        f"{reports[seed][s]['methods']['hrjax']['two_afc']:.3f}" for s in stores) +
        f' | {minutes[seed]:.1f} |')
  if any(loso.values()):
    out += ['', 'Held-out-subject sets (leave-one-subject-out, or subject k-fold): each seed '
            "trained once per fold with the fold's subjects left out of `train.mix`; a set's "
            "figure pools the trials whose heart is a left-out subject's (foil videos may be "
            "trained on, with their own hearts), its interval resamples the subjects."]
  out += [''] + [f'Note: {n}' for n in notes] if notes else []
  return '\n'.join(out) + '\n'


def mean_sd(values: list[float]) -> str:
  """Mean ± sample sd (0 for one value)."""
  sd = statistics.stdev(values) if len(values) > 1 else 0.0
  return f'{statistics.fmean(values):.3f} ± {sd:.3f}'


def verdict(diffs: list[float]) -> str:
  """'yes' when every difference has one sign and their mean clears their sd."""
  if len(diffs) < 2:
    return '-'
  same_sign = all(d > 0 for d in diffs) or all(d < 0 for d in diffs)
  clears = abs(statistics.fmean(diffs)) > statistics.stdev(diffs)
  return 'yes' if same_sign and clears else 'no'


def paired_table(arms: dict[str, dict], reference: str, store: str,
                 measure: str = 'two_afc') -> list[str]:
  """scripts/compare_arms.py's Markdown for one test set: each arm's per-seed figures
  (`arms`: {name: transfer.py JSON's 'seeds'}) and their differences from `reference`'s,
  seed by seed, with `verdict`."""
  ref = arms[reference]
  lines = [f'### {store}', '', '| arm | per seed | mean ± sd | paired with '
           f'{reference}, per seed | mean ± sd | beyond the spread |',
           '| --- | --- | --- | --- | --- | --- |']
  for name, seeds in arms.items():
    have = {s: v[store][measure] for s, v in seeds.items() if store in v}
    if not have:
      continue
    row = [name, ', '.join(f'{have[s]:.3f}' for s in sorted(have, key=int)), mean_sd(
        list(have.values()))]
    common = sorted(set(have) & {s for s, v in ref.items() if store in v}, key=int)
    if name == reference or not common:
      row += ['-', '-', '-']
    else:
      diffs = [have[s] - ref[s][store][measure] for s in common]
      row += [', '.join(f'{d:+.3f}' for d in diffs), mean_sd(diffs), verdict(diffs)]
    lines.append('| ' + ' | '.join(row) + ' |')
  return lines + ['']
