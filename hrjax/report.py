"""An evaluation report for people: the printed table, a Markdown summary and PNG figures.

`write_report(report, out)` writes `report.json`, `report.txt`, `report.md` and
three figures: 2AFC accuracy against the heart-foil rate gap, ROC curves, and
per-subject accuracy. `read_figures` reads them back as arrays for TensorBoard.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

FIGURES = ('accuracy_vs_rate_gap', 'roc', 'per_subject')
LABELS = {'hrjax': 'hrjax (learned)', 'green': 'GREEN', 'chrom': 'CHROM', 'pos': 'POS'}


def _label(name: str) -> str:
  return LABELS.get(name, name)


def _n_ways(method: dict) -> list[int]:
  return sorted(int(k[5:-3]) for k in method if k.startswith('top1_'))


def format_table(report: dict) -> str:
  first = next(iter(report['methods'].values()))
  cols = ['two_afc', 'two_afc_ci95', 'auc'] + [f'top1_{n}way' for n in _n_ways(first)]
  lines = [f"{report['store']} [{report['split']}]: {report['clips']} clips, "
           f"{report['subjects']} subjects, heart = {report['representation']}",
           f"{'method':<10}" + ''.join(f'{c:>16}' for c in cols)]
  for name, m in report['methods'].items():
    cells = []
    for c in cols:
      v = m[c]
      cells.append(f'[{v[0]:.3f}, {v[1]:.3f}]' if isinstance(v, list) else f'{v:.3f}')
    lines.append(f'{name:<10}' + ''.join(f'{c:>16}' for c in cells))
  bins = first['two_afc_by_rate_gap']
  lines.append('2AFC by |rate gap| of heart and foil (bpm): ' + ', '.join(
      f"{b['lo']:.0f}-{b['hi']:.0f}: n={b['trials']}" for b in bins))
  for name, m in report['methods'].items():
    accs = (b['accuracy'] for b in m['two_afc_by_rate_gap'])
    lines.append(f'{name:<10}' + ''.join(f'{a:>10.3f}' for a in accs))
  return '\n'.join(lines)


def _bin_name(b: dict) -> str:
  return f"{b['lo']:.0f}+" if not np.isfinite(b['hi']) else f"{b['lo']:.0f}-{b['hi']:.0f}"


def markdown(report: dict) -> str:
  """The report as Markdown: summary table, rate-gap table, per-subject table, figures."""
  methods = report['methods']
  first = next(iter(methods.values()))
  ways = _n_ways(first)
  head = (['method', '2AFC', '95% CI (subjects)', 'AUC'] +
          [f'top-1 {n}-way' for n in ways] + [f'mean rank {n}-way' for n in ways])
  out = [f"# Evaluation: {report['store']} [{report['split']}]", '',
         f"{report['clips']} clips of {report['subjects']} subjects, heart representation "
         f"`{report['representation']}`" +
         (f", checkpoint step {report['checkpoint_step']}" if 'checkpoint_step' in report else '')
         + (f", {report['parameters']:,} parameters" if 'parameters' in report else '') + '.',
         'Every method scores the very same pairs; a 2AFC trial is a heart, its own video '
         'and a video of another subject.', '',
         '| ' + ' | '.join(head) + ' |', '|' + ' --- |' * len(head)]
  for name, m in methods.items():
    lo, hi = m['two_afc_ci95']
    cells = ([_label(name), f"{m['two_afc']:.3f}", f'[{lo:.3f}, {hi:.3f}]', f"{m['auc']:.3f}"] +
             [f"{m[f'top1_{n}way']:.3f}" for n in ways] +
             [f"{m[f'mean_rank_{n}way']:.2f}" for n in ways])
    out.append('| ' + ' | '.join(cells) + ' |')
  bins = first['two_afc_by_rate_gap']
  out += ['', '## 2AFC by the rate gap between heart and foil (bpm)', '',
          '| method | ' + ' | '.join(f'{_bin_name(b)} (n={b["trials"]})' for b in bins) + ' |',
          '|' + ' --- |' * (len(bins) + 1)]
  for name, m in methods.items():
    out.append(f'| {_label(name)} | ' + ' | '.join(
        f"{b['accuracy']:.3f}" for b in m['two_afc_by_rate_gap']) + ' |')
  subjects = sorted(first['per_subject_two_afc'], key=lambda s: (len(s), s))
  out += ['', '## 2AFC per subject (trials whose heart is this subject\'s)', '',
          '| subject | ' + ' | '.join(_label(n) for n in methods) + ' |',
          '|' + ' --- |' * (len(methods) + 1)]
  for s in subjects:
    out.append(f'| {s} | ' + ' | '.join(
        f"{m['per_subject_two_afc'][s]:.3f}" for m in methods.values()) + ' |')
  out += ['', '## Figures', ''] + [f'![{f}]({f}.png)' for f in FIGURES]
  return '\n'.join(out) + '\n'


def _figures(report: dict) -> dict:
  """name -> matplotlib Figure."""
  import matplotlib
  matplotlib.use('Agg')
  from matplotlib import pyplot as plt
  methods = report['methods']
  store = Path(report['store'])
  title = f"{store.parent.name}/{store.name} [{report['split']}]"
  figs = {}

  fig, ax = plt.subplots(figsize=(6, 4))
  bins = next(iter(methods.values()))['two_afc_by_rate_gap']
  x = np.arange(len(bins))
  for name, m in methods.items():
    ax.plot(x, [b['accuracy'] for b in m['two_afc_by_rate_gap']], 'o-', label=_label(name),
            lw=2.5 if name == 'hrjax' else 1.2)
  ax.axhline(0.5, color='grey', ls=':', lw=1, label='chance')
  ax.set_xticks(x, [f"{_bin_name(b)}\nn={b['trials']}" for b in bins], fontsize=8)
  ax.set(xlabel='|rate gap| between heart and foil clip (bpm)', ylabel='2AFC accuracy',
         ylim=(0.3, 1.02), title=f'Accuracy by rate gap: {title}')
  ax.legend(fontsize=8)
  figs['accuracy_vs_rate_gap'] = fig

  fig, ax = plt.subplots(figsize=(4.8, 4.5))
  for name, m in methods.items():
    ax.plot(m['roc']['fpr'], m['roc']['tpr'], label=f"{_label(name)} (AUC {m['auc']:.3f})",
            lw=2.5 if name == 'hrjax' else 1.2)
  ax.plot([0, 1], [0, 1], color='grey', ls=':', lw=1)
  ax.set(xlabel='false-positive rate (foil pairs)', ylabel='true-positive rate (own pairs)',
         title=f'ROC: {title}', aspect='equal')
  ax.legend(fontsize=8, loc='lower right')
  figs['roc'] = fig

  subjects = sorted(methods['hrjax']['per_subject_two_afc'] if 'hrjax' in methods else
                    next(iter(methods.values()))['per_subject_two_afc'],
                    key=lambda s: (len(s), s))
  fig, ax = plt.subplots(figsize=(min(16, 3 + 0.45 * len(subjects)), 4))
  width = 0.8 / len(methods)
  for k, (name, m) in enumerate(methods.items()):
    ax.bar(np.arange(len(subjects)) + (k - (len(methods) - 1) / 2) * width,
           [m['per_subject_two_afc'][s] for s in subjects], width, label=_label(name))
  ax.axhline(0.5, color='grey', ls=':', lw=1)
  ax.set_xticks(np.arange(len(subjects)), subjects, fontsize=7,
                rotation=90 if len(subjects) > 40 else 0)
  ax.set(xlabel='subject (whose heart)', ylabel='2AFC accuracy', ylim=(0, 1.18),
         yticks=np.linspace(0, 1, 6), xlim=(-0.6, len(subjects) - 0.4),
         title=f"Per subject ({report['subjects']}): {title}")
  ax.legend(fontsize=7, ncol=len(methods), loc='upper center')
  figs['per_subject'] = fig
  for f in figs.values():
    f.tight_layout()
  return figs


def _png(fig) -> bytes:
  from matplotlib import pyplot as plt
  buf = io.BytesIO()
  fig.savefig(buf, format='png', dpi=110)
  plt.close(fig)
  return buf.getvalue()


def read_figures(out: str | Path) -> dict[str, np.ndarray]:
  """The written figures as `uint8 [1, H, W, 3]` arrays (for TensorBoard), by name."""
  from PIL import Image
  return {f'eval/{name}': np.asarray(Image.open(Path(out) / f'{name}.png').convert('RGB'))[None]
          for name in FIGURES}


def write_report(report: dict, out: str | Path) -> Path:
  """`report.json` (written last, atomically), `report.txt`, `report.md` and PNG figures."""
  out = Path(out)
  out.mkdir(parents=True, exist_ok=True)
  for name, fig in _figures(report).items():
    (out / f'{name}.png').write_bytes(_png(fig))
  (out / 'report.txt').write_text(format_table(report) + '\n')
  (out / 'report.md').write_text(markdown(report))
  path = out / 'report.json'
  tmp = path.with_suffix('.json.tmp')
  tmp.write_text(json.dumps(report, indent=1))
  tmp.rename(path)
  return path
