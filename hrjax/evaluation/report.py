"""An evaluation report for people: the printed table, a Markdown summary and PNG figures.

`write_report(report, out)` writes `report.json`, `report.txt`, `report.md` and
the figures of `figures.py` (2AFC against the heart-foil rate gap, ROC curves,
per-subject accuracy), and returns the figures as arrays for TensorBoard.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hrjax.evaluation import figures
from hrjax.evaluation.figures import FIGURES, bin_name, label


def two_afc_cell(method: dict) -> str:
  """A method's 2AFC with its bootstrap interval: `0.983 [0.971, 0.992]`."""
  lo, hi = method['two_afc_ci95']
  return f"{method['two_afc']:.3f} [{lo:.3f}, {hi:.3f}]"


def recording_cell(method: dict) -> str:
  """A method's per-recording 2AFC with its interval (`recordings.recording_two_afc`)."""
  r = method['recording']
  lo, hi = r['two_afc_ci95']
  return f"{r['two_afc']:.3f} [{lo:.3f}, {hi:.3f}]"


def calibration_line(method: dict) -> str:
  clip, rec = method['calibration'], method['recording']['calibration']
  return (f"hrjax's two-way probabilities (softmax over two scores, as predict): expected "
          f"calibration error {clip['ece']:.3f} per clip, {rec['ece']:.3f} per recording")


def _n_ways(method: dict) -> list[int]:
  return sorted(int(k[5:-3]) for k in method if k.startswith('top1_'))


def _regions_note(report: dict) -> str:
  regions = report.get('regions', 'all')
  return '' if regions == 'all' else f', input restricted to {regions} (eval.regions)'


def format_table(report: dict) -> str:
  first = next(iter(report['methods'].values()))
  cols = ['two_afc', 'two_afc_ci95', 'auc'] + [f'top1_{n}way' for n in _n_ways(first)]
  lines = [f"{report['store']} [{report['split']}]: {report['clips']} clips, "
           f"{report['subjects']} subjects, heart = {report['representation']}"
           + _regions_note(report),
           f"{'method':<10}" + ''.join(f'{c:>16}' for c in cols)]
  for name, m in report['methods'].items():
    cells = []
    for c in cols:
      v = m[c]
      cells.append(f'[{v[0]:.3f}, {v[1]:.3f}]' if isinstance(v, list) else f'{v:.3f}')
    lines.append(f'{name:<10}' + ''.join(f'{c:>16}' for c in cells))
  rec = first['recording']
  lines.append(f"2AFC per recording ({rec['recordings']} recordings, {rec['trials']} trials, "
               'mean clip score over common clip times): ' + ', '.join(
                   f"{name} {recording_cell(m)}" for name, m in report['methods'].items()))
  if 'calibration' in report['methods'].get('hrjax', {}):
    lines.append(calibration_line(report['methods']['hrjax']))
  lines.append('2AFC by evidence length (consecutive clips: ' + ', '.join(
      f"{w['clips']}: n={w['trials']}" for w in first['two_afc_by_length']) + ')')
  for name, m in report['methods'].items():
    lines.append(f'{name:<10}' + ''.join(f"{w['accuracy']:>10.3f}"
                                         for w in m['two_afc_by_length']))
  bins = first['two_afc_by_rate_gap']
  lines.append('2AFC by |rate gap| of heart and foil (bpm): ' + ', '.join(
      f"{b['lo']:.0f}-{b['hi']:.0f}: n={b['trials']}" for b in bins))
  for name, m in report['methods'].items():
    accs = (b['accuracy'] for b in m['two_afc_by_rate_gap'])
    lines.append(f'{name:<10}' + ''.join(f'{a:>10.3f}' for a in accs))
  for key, levels in first.get('by_label', {}).items():
    lines.append(f'2AFC by {key} (both videos of a trial at the level): ' + ', '.join(
        f"{v['level']}: n={v['trials']}" for v in levels))
    for name, m in report['methods'].items():
      lines.append(f'{name:<10}' + ''.join(f"{v['accuracy']:>10.3f}"
                                           for v in m['by_label'][key]))
  return '\n'.join(lines)


def markdown(report: dict) -> str:
  """The report as Markdown: summary table, rate-gap table, per-subject table, figures."""
  methods = report['methods']
  first = next(iter(methods.values()))
  ways = _n_ways(first)
  head = (['method', '2AFC', '95% CI (subjects)', 'AUC', '2AFC per recording [95% CI]'] +
          [f'top-1 {n}-way' for n in ways] + [f'mean rank {n}-way' for n in ways])
  out = [f"# Evaluation: {report['store']} [{report['split']}]", '',
         f"{report['clips']} clips of {report['subjects']} subjects, heart representation "
         f"`{report['representation']}`" +
         (f", checkpoint step {report['checkpoint_step']}" if 'checkpoint_step' in report else '')
         + (f", {report['parameters']:,} parameters" if 'parameters' in report else '')
         + _regions_note(report) + '.',
         'Every method scores the very same pairs; a 2AFC trial is a heart, its own video '
         'and a video of another subject. Per recording: the mean clip score of a heart '
         "recording against each whole video (over the clip times both have), as "
         '`hrjax.predict` decides.', '',
         '| ' + ' | '.join(head) + ' |', '|' + ' --- |' * len(head)]
  for name, m in methods.items():
    lo, hi = m['two_afc_ci95']
    cells = ([label(name), f"{m['two_afc']:.3f}", f'[{lo:.3f}, {hi:.3f}]', f"{m['auc']:.3f}",
              recording_cell(m)] +
             [f"{m[f'top1_{n}way']:.3f}" for n in ways] +
             [f"{m[f'mean_rank_{n}way']:.2f}" for n in ways])
    out.append('| ' + ' | '.join(cells) + ' |')
  if 'calibration' in methods.get('hrjax', {}):
    out += ['', calibration_line(methods['hrjax']) + ' (figure `calibration.png`).']
  lengths = first['two_afc_by_length']
  out += ['', '## 2AFC by evidence length (consecutive clips, mean clip score)', '',
          '| method | ' + ' | '.join(f"{w['clips']} clip(s) (n={w['trials']})"
                                    for w in lengths) + ' |', '|' + ' --- |' * (len(lengths) + 1)]
  for name, m in methods.items():
    out.append(f'| {label(name)} | ' + ' | '.join(
        f"{w['accuracy']:.3f}" for w in m['two_afc_by_length']) + ' |')
  bins = first['two_afc_by_rate_gap']
  out += ['', '## 2AFC by the rate gap between heart and foil (bpm)', '',
          '| method | ' + ' | '.join(f'{bin_name(b)} (n={b["trials"]})' for b in bins) + ' |',
          '|' + ' --- |' * (len(bins) + 1)]
  for name, m in methods.items():
    out.append(f'| {label(name)} | ' + ' | '.join(
        f"{b['accuracy']:.3f}" for b in m['two_afc_by_rate_gap']) + ' |')
  subjects = sorted(first['per_subject_two_afc'], key=lambda s: (len(s), s))
  out += ['', '## 2AFC per subject (trials whose heart is this subject\'s)', '',
          '| subject | ' + ' | '.join(label(n) for n in methods) + ' |',
          '|' + ' --- |' * (len(methods) + 1)]
  for s in subjects:
    out.append(f'| {s} | ' + ' | '.join(
        f"{m['per_subject_two_afc'][s]:.3f}" for m in methods.values()) + ' |')
  out += label_tables(methods)
  drawn = [f for f in FIGURES if f != 'calibration' or 'calibration' in methods.get('hrjax', {})]
  out += ['', '## Figures', ''] + [f'![{f}]({f}.png)' for f in drawn]
  return '\n'.join(out) + '\n'


def label_tables(methods: dict) -> list[str]:
  """Markdown: per clip label the store carries (lighting, task, ...), 2AFC per level."""
  first = next(iter(methods.values()))
  out = []
  for key, levels in first.get('by_label', {}).items():
    out += ['', f'## 2AFC by {key} (a trial\'s two videos both at the level; 95% CI over '
            'subjects)', '',
            '| method | ' + ' | '.join(f"{v['level']} (n={v['trials']}, {v['subjects']} "
                                      'subjects)' for v in levels) + ' |',
            '|' + ' --- |' * (len(levels) + 1)]
    for name, m in methods.items():
      out.append(f'| {label(name)} | ' + ' | '.join(
          f"{v['accuracy']:.3f} [{v['ci95'][0]:.3f}, {v['ci95'][1]:.3f}]"
          for v in m['by_label'][key]) + ' |')
  return out


def write_report(report: dict, out: str | Path) -> dict[str, np.ndarray]:
  """`report.json` (written last, atomically), `report.txt`, `report.md` and PNG figures;
  returns the figures as `uint8 [1, H, W, 3]` by TensorBoard name (`eval/<figure>`)."""
  out = Path(out)
  out.mkdir(parents=True, exist_ok=True)
  images = {f'eval/{name}': figures.save_png(fig, out / f'{name}.png')[None]
            for name, fig in figures.report_figures(report).items()}
  (out / 'report.txt').write_text(format_table(report) + '\n')
  (out / 'report.md').write_text(markdown(report))
  path = out / 'report.json'
  tmp = path.with_suffix('.json.tmp')
  tmp.write_text(json.dumps(report, indent=1))
  tmp.rename(path)
  return images
