"""Pairing metrics from a score matrix `S[i, j] = s(heart_i, video_j)`.

Clip i's heart and video belong together; `subjects[i]` names its subject. A
2AFC trial is (heart i, its video i, a foil video j of another subject):
correct when S[i, i] > S[i, j], half a point on a tie.
"""

from __future__ import annotations

import numpy as np


def _foil_mask(subjects: np.ndarray) -> np.ndarray:
  return subjects[:, None] != subjects[None, :]


def trial_outcomes(scores: np.ndarray, subjects: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Per trial (i, j): 1 if S[i, i] > S[i, j], 0.5 on a tie, else 0; and the foil mask."""
  own = np.diag(scores)[:, None]
  return (own > scores) + 0.5 * (own == scores), _foil_mask(subjects)


def two_afc(scores: np.ndarray, subjects: np.ndarray) -> float:
  """Accuracy over all trials (i, j) with subjects[i] != subjects[j]."""
  outcome, mask = trial_outcomes(scores, subjects)
  return float(outcome[mask].mean())


def two_afc_bootstrap(scores: np.ndarray, subjects: np.ndarray, n_boot: int = 1000,
                      seed: int = 0, level: float = 0.95) -> tuple[float, float]:
  """Percentile interval over subjects resampled with replacement.

  A resampled subject brings all its trials; a trial between subjects a and b
  counts count(a) * count(b) times.
  """
  outcome, mask = trial_outcomes(scores, subjects)
  return bootstrap_outcomes(outcome, mask, subjects, n_boot, seed, level)


def bootstrap_outcomes(outcome: np.ndarray, mask: np.ndarray, subjects: np.ndarray,
                       n_boot: int = 1000, seed: int = 0,
                       level: float = 0.95) -> tuple[float, float]:
  """The percentile interval of `two_afc_bootstrap` for any trial outcomes `[N, N]` (row:
  the heart's item, column: the foil's) with `mask` marking real trials."""
  names, idx = np.unique(subjects, return_inverse=True)
  k = len(names)
  # Per subject pair: summed outcome and number of trials.
  onehot = np.eye(k)[idx]  # [N, K]
  total = onehot.T @ (outcome * mask) @ onehot
  count = onehot.T @ mask.astype(float) @ onehot
  rng = np.random.default_rng(seed)
  stats = []
  for _ in range(n_boot):
    w = np.bincount(rng.integers(0, k, k), minlength=k).astype(float)
    ww = np.outer(w, w)
    denom = (ww * count).sum()
    if denom > 0:
      stats.append((ww * total).sum() / denom)
  lo, hi = np.percentile(stats, [50 * (1 - level), 50 * (1 + level)])
  return float(lo), float(hi)


def roc_auc(scores: np.ndarray, subjects: np.ndarray) -> float:
  """AUC of true-pair scores S[i, i] against foil scores S[i, j] (Mann-Whitney, ties 0.5)."""
  pos = np.diag(scores)
  neg = scores[_foil_mask(subjects)]
  allv = np.concatenate([pos, neg])
  order = allv.argsort(kind='mergesort')
  ranks = np.empty(len(allv))
  ranks[order] = np.arange(1, len(allv) + 1)
  # Average ranks over ties.
  _, inv, counts = np.unique(allv, return_inverse=True, return_counts=True)
  sums = np.bincount(inv, ranks)
  ranks = sums[inv] / counts[inv]
  u = ranks[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2
  return float(u / (len(pos) * len(neg)))


def roc_curve(scores: np.ndarray, subjects: np.ndarray,
              points: int = 101) -> tuple[np.ndarray, np.ndarray]:
  """(false-positive rate, true-positive rate) of true pairs against foils, thresholds
  from high to low, starting at (0, 0) and ending at (1, 1); at most `points` points."""
  pos = np.sort(np.diag(scores))[::-1]
  neg = np.sort(scores[_foil_mask(subjects)])[::-1]
  thresholds = np.unique(np.concatenate([pos, neg]))[::-1]
  # Predicted positive: score >= threshold; a tie moves both rates at once.
  tpr = np.searchsorted(-pos, -thresholds, side='right') / len(pos)
  fpr = np.searchsorted(-neg, -thresholds, side='right') / len(neg)
  fpr, tpr = np.concatenate([[0.0], fpr]), np.concatenate([[0.0], tpr])
  if len(fpr) > points:
    keep = np.unique(np.linspace(0, len(fpr) - 1, points).round().astype(int))
    fpr, tpr = fpr[keep], tpr[keep]
  return fpr, tpr


def n_way(scores: np.ndarray, subjects: np.ndarray, n: int, trials: int,
          seed: int = 0) -> dict:
  """Random N-way trials: a heart, its video and N-1 foil videos of N-1 other subjects.

  Returns top-1 accuracy (ties shared) and mean rank of the true video (1 = best).
  """
  names, idx = np.unique(subjects, return_inverse=True)
  if n > len(names):
    return dict(top1=float('nan'), mean_rank=float('nan'))
  clips_of = [np.flatnonzero(idx == s) for s in range(len(names))]
  rng = np.random.default_rng(seed)
  top1, ranks = [], []
  for _ in range(trials):
    i = rng.integers(len(subjects))
    others = rng.choice(np.delete(np.arange(len(names)), idx[i]), n - 1, replace=False)
    foils = np.array([rng.choice(clips_of[s]) for s in others])
    own, foil = scores[i, i], scores[i, foils]
    better, ties = (foil > own).sum(), (foil == own).sum()
    top1.append(float(better == 0) / (ties + 1))
    ranks.append(1 + better + 0.5 * ties)
  return dict(top1=float(np.mean(top1)), mean_rank=float(np.mean(ranks)))


def per_subject_two_afc(scores: np.ndarray, subjects: np.ndarray) -> dict[str, float]:
  """2AFC accuracy of the trials whose heart belongs to each subject."""
  outcome, mask = trial_outcomes(scores, subjects)
  return {str(s): float(outcome[subjects == s][mask[subjects == s]].mean())
          for s in np.unique(subjects)}


def two_afc_by_rate_gap(scores: np.ndarray, subjects: np.ndarray, bpm: np.ndarray,
                        edges=(0, 5, 10, 20, 40)) -> list[dict]:
  """2AFC accuracy in bins of |rate(heart's clip) - rate(foil's clip)| in bpm.

  People pick the owner of a heartbeat better when the two rates differ more;
  this shows whether a model does too. The last bin is open-ended.
  """
  outcome, mask = trial_outcomes(scores, subjects)
  gap = np.abs(bpm[:, None] - bpm[None, :])
  bounds = list(edges) + [np.inf]
  out = []
  for lo, hi in zip(bounds[:-1], bounds[1:]):
    sel = mask & (gap >= lo) & (gap < hi)
    out.append(dict(lo=float(lo), hi=float(hi), trials=int(sel.sum()),
                    accuracy=float(outcome[sel].mean()) if sel.any() else float('nan')))
  return out


def two_afc_by_level(scores: np.ndarray, subjects: np.ndarray, levels: np.ndarray,
                     n_boot: int = 1000, seed: int = 0) -> list[dict]:
  """2AFC within each level of a clip label (lighting, task, skin tone...): the trials whose
  heart's clip and foil's clip both have that level, so that a level is judged on its own
  videos. Each with its interval over subjects (`bootstrap_outcomes`)."""
  outcome, mask = trial_outcomes(scores, subjects)
  out = []
  for level in sorted(set(levels.tolist()), key=lambda v: (len(str(v)), str(v))):
    sel = mask & (levels[:, None] == level) & (levels[None, :] == level)
    if not sel.any():
      continue
    lo, hi = bootstrap_outcomes(outcome, sel, subjects, n_boot, seed)
    out.append(dict(level=str(level), trials=int(sel.sum()),
                    subjects=int(len(np.unique(subjects[levels == level]))),
                    accuracy=float(outcome[sel].mean()), ci95=[lo, hi]))
  return out


def trial_margins(scores: np.ndarray, subjects: np.ndarray) -> np.ndarray:
  """S[i, i] - S[i, j] of every 2AFC trial: the logit of a two-way choice's right answer."""
  margin = np.diag(scores)[:, None] - scores
  return margin[_foil_mask(subjects)]


def calibration(margins: np.ndarray, bins: int = 10) -> dict:
  """Calibration of two-way choices made by softmax over two logits (as `hrjax.predict`
  turns scores into probabilities), from each trial's margin (right minus wrong logit).

  The chosen option's probability is max(p, 1 - p) with p = sigmoid(margin); a trial is
  right when the margin is positive (a tie: half). Per bin of that confidence in
  [0.5, 1]: how many, their mean confidence and their accuracy; ECE is the count-weighted
  mean gap between the two.
  """
  margins = np.asarray(margins, np.float64)
  p = 1 / (1 + np.exp(-np.clip(margins, -50, 50)))
  confidence = np.maximum(p, 1 - p)
  right = (margins > 0) + 0.5 * (margins == 0)
  edges = np.linspace(0.5, 1.0, bins + 1)
  which = np.clip(np.searchsorted(edges, confidence, side='right') - 1, 0, bins - 1)
  out, ece = [], 0.0
  for b in range(bins):
    sel = which == b
    if sel.any():
      conf, acc = float(confidence[sel].mean()), float(right[sel].mean())
      ece += sel.sum() * abs(conf - acc)
      out.append(dict(lo=float(edges[b]), hi=float(edges[b + 1]), trials=int(sel.sum()),
                      confidence=conf, accuracy=acc))
  return dict(ece=float(ece / max(len(margins), 1)), bins=out)
