"""The figures of an evaluation report, and PNG files made from any matplotlib figure.

`report_figures` draws 2AFC accuracy against the heart-foil rate gap, ROC curves
and per-subject accuracy, every method on the same axes; `save_png` writes a
figure and hands back its pixels (for TensorBoard) without reading the file again.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

FIGURES = ('accuracy_vs_rate_gap', 'roc', 'per_subject', 'calibration')
LABELS = {'hrjax': 'hrjax (learned)', 'green': 'GREEN', 'chrom': 'CHROM', 'pos': 'POS'}
DPI = 110


def label(name: str) -> str:
  return LABELS.get(name, name)


def bin_name(b: dict) -> str:
  """A rate-gap bin as text: `5-10`, or `40+` for the open-ended last one."""
  return f"{b['lo']:.0f}+" if not np.isfinite(b['hi']) else f"{b['lo']:.0f}-{b['hi']:.0f}"


def pyplot():
  """matplotlib's pyplot on the Agg backend (no screen needed); imported when first drawn."""
  import matplotlib
  matplotlib.use('Agg')
  from matplotlib import pyplot as plt
  return plt


def save_png(fig, path: str | Path) -> np.ndarray:
  """Write `fig` as a PNG at `path`, close it, and return its pixels `uint8 [H, W, 3]`."""
  from PIL import Image
  buf = io.BytesIO()
  fig.savefig(buf, format='png', dpi=DPI)
  pyplot().close(fig)
  Path(path).write_bytes(buf.getvalue())
  buf.seek(0)
  return np.asarray(Image.open(buf).convert('RGB'))


def report_figures(report: dict) -> dict:
  """The report's figures: name (`FIGURES`) -> matplotlib Figure."""
  plt = pyplot()
  methods = report['methods']
  store = Path(report['store'])
  title = f"{store.parent.name}/{store.name} [{report['split']}]"
  figs = {}

  fig, ax = plt.subplots(figsize=(6, 4))
  bins = next(iter(methods.values()))['two_afc_by_rate_gap']
  x = np.arange(len(bins))
  for name, m in methods.items():
    ax.plot(x, [b['accuracy'] for b in m['two_afc_by_rate_gap']], 'o-', label=label(name),
            lw=2.5 if name == 'hrjax' else 1.2)
  ax.axhline(0.5, color='grey', ls=':', lw=1, label='chance')
  ax.set_xticks(x, [f"{bin_name(b)}\nn={b['trials']}" for b in bins], fontsize=8)
  ax.set(xlabel='|rate gap| between heart and foil clip (bpm)', ylabel='2AFC accuracy',
         ylim=(0.3, 1.02), title=f'Accuracy by rate gap: {title}')
  ax.legend(fontsize=8)
  figs['accuracy_vs_rate_gap'] = fig

  fig, ax = plt.subplots(figsize=(4.8, 4.5))
  for name, m in methods.items():
    ax.plot(m['roc']['fpr'], m['roc']['tpr'], label=f"{label(name)} (AUC {m['auc']:.3f})",
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
           [m['per_subject_two_afc'][s] for s in subjects], width, label=label(name))
  ax.axhline(0.5, color='grey', ls=':', lw=1)
  ax.set_xticks(np.arange(len(subjects)), subjects, fontsize=7,
                rotation=90 if len(subjects) > 40 else 0)
  ax.set(xlabel='subject (whose heart)', ylabel='2AFC accuracy', ylim=(0, 1.18),
         yticks=np.linspace(0, 1, 6), xlim=(-0.6, len(subjects) - 0.4),
         title=f"Per subject ({report['subjects']}): {title}")
  ax.legend(fontsize=7, ncol=len(methods), loc='upper center')
  figs['per_subject'] = fig
  if 'calibration' in methods.get('hrjax', {}):
    figs['calibration'] = reliability_figure(methods['hrjax'], title)
  for f in figs.values():
    f.tight_layout()
  return figs


def reliability_figure(method: dict, title: str):
  """Accuracy against the stated probability of two-way choices, per clip and per recording
  (`metrics.calibration`): on the diagonal, 'p = 0.9' is right 90% of the time."""
  fig, ax = pyplot().subplots(figsize=(4.8, 4.5))
  for cal, name in ((method['calibration'], 'per clip'),
                    (method['recording']['calibration'], 'per recording')):
    conf = [b['confidence'] for b in cal['bins']]
    acc = [b['accuracy'] for b in cal['bins']]
    n = sum(b['trials'] for b in cal['bins'])
    ax.plot(conf, acc, 'o-', label=f"{name}: ECE {cal['ece']:.3f} ({n} trials)")
  ax.plot([0.5, 1], [0.5, 1], color='grey', ls=':', lw=1, label='calibrated')
  ax.set(xlabel="hrjax's probability of its choice", ylabel='share right', xlim=(0.48, 1.02),
         ylim=(0, 1.02), title=f'Calibration: {title}')
  ax.legend(fontsize=8, loc='lower right')
  return fig
