"""Decisions over whole recordings, the way `hrjax.predict` decides: a heart recording against
a video recording by the mean of their time-aligned clip scores.

A trial is (heart recording A, its own video A, the video B of another subject's
recording): correct when A's own mean score beats B's, both over the first K clip
times, K the smaller of the two recordings' clip counts (so a long recording does not
win by averaging more clips). Clip k of a recording is its k-th clip by start time.
"""

from __future__ import annotations

import numpy as np

from hrjax.evaluation import metrics


def recording_clips(rows: list[dict]) -> tuple[list[str], np.ndarray, list[np.ndarray]]:
  """(recording names, each recording's subject, each recording's clip indices by start)."""
  keys = [(r['subject'], r.get('recording', r['subject'])) for r in rows]
  names = sorted(set(keys), key=lambda k: (len(k[0]), k[0], k[1]))
  clips = []
  for key in names:
    idx = np.array([i for i, k in enumerate(keys) if k == key])
    clips.append(idx[np.argsort([rows[i]['start_s'] for i in idx], kind='stable')])
  return [n[1] for n in names], np.array([n[0] for n in names]), clips


def recording_scores(scores: np.ndarray, clips: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
  """(own `[R, R]`, foil `[R, R]`): entry (a, b) holds heart a's mean score against its own
  video and against video b, over their first min(n_a, n_b) clip times."""
  r = len(clips)
  own, foil = np.zeros((r, r)), np.zeros((r, r))
  for a in range(r):
    for b in range(r):
      k = min(len(clips[a]), len(clips[b]))
      ha, vb = clips[a][:k], clips[b][:k]
      own[a, b] = scores[ha, ha].mean()
      foil[a, b] = scores[ha, vb].mean()
  return own, foil


def recording_margins(scores: np.ndarray, rows: list[dict]) -> np.ndarray:
  """Own minus foil mean score of every per-recording trial (for `metrics.calibration`)."""
  _, subjects, clips = recording_clips(rows)
  own, foil = recording_scores(scores, clips)
  return (own - foil)[subjects[:, None] != subjects[None, :]]


def recording_two_afc(scores: np.ndarray, rows: list[dict], n_boot: int = 1000,
                      seed: int = 0) -> dict:
  """Per-recording 2AFC from a clip score matrix `[N, N]` and the clips' store rows, with a
  bootstrap interval over subjects, and per subject (the trials whose heart is theirs)."""
  _, subjects, clips = recording_clips(rows)
  own, foil = recording_scores(scores, clips)
  outcome = (own > foil) + 0.5 * (own == foil)
  mask = subjects[:, None] != subjects[None, :]
  lo, hi = metrics.bootstrap_outcomes(outcome, mask, subjects, n_boot, seed)
  per_subject = {str(s): float(outcome[subjects == s][mask[subjects == s]].mean())
                 for s in np.unique(subjects)}
  return dict(two_afc=float(outcome[mask].mean()), two_afc_ci95=[lo, hi],
              recordings=len(clips), trials=int(mask.sum()), per_subject=per_subject)


def two_afc_by_length(scores: np.ndarray, rows: list[dict], windows=(1, 2, 4)) -> list[dict]:
  """2AFC of decisions over `w` consecutive clips (heart and both videos at the same clip
  times, mean clip score), for each window length `w`: longer evidence, fewer trials. A
  trial per (heart recording, foil recording, window start). Test splits cut clips end to
  end (`data.eval_stride` = `clip_frames`), so w clips span w x 128 frames by default."""
  _, subjects, clips = recording_clips(rows)
  out = []
  for w in windows:
    right = trials = 0.0
    for a, ca in enumerate(clips):
      for b, cb in enumerate(clips):
        if subjects[a] == subjects[b]:
          continue
        for k in range(min(len(ca), len(cb)) - w + 1):
          ha, vb = ca[k:k + w], cb[k:k + w]
          own, foil = scores[ha, ha].mean(), scores[ha, vb].mean()
          right += (own > foil) + 0.5 * (own == foil)
          trials += 1
    out.append(dict(clips=w, trials=int(trials),
                    accuracy=right / trials if trials else float('nan')))
  return out
