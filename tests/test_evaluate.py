"""The real evaluation code on a fake model with known scores (scenic-style): every heart
against every video over several padded eval batches, then the summary, checked by hand."""

import dataclasses

import flax.linen as nn
import jax.numpy as jnp
import numpy as np
import pytest

from hrjax.data import clip_store
from hrjax.evaluation import evaluate, scoring
from hrjax.evaluation import report as report_lib
from hrjax.training import parallel
from tests.tiny import tiny_config

SUBJECTS = np.array(['a', 'a', 'b', 'b', 'b', 'c', 'c', 'd', 'd', 'd', 'd'])  # 11 clips
VIDEO_CODE = np.array([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110])  # each clip's pixels
HEART_CODE = VIDEO_CODE + np.array([0, 12, -3, 25, 1, -14, 2, 6, -9, 0, 30])


class FixedScores(nn.Module):
  """Video and heart each encode to the number clip i carries; the score of heart i and
  video j is -(h_i - v_j)^2."""

  def encode_video(self, video):
    return video[:, 0, 0, 0, :1].astype(jnp.float32)

  def encode_heart(self, heart, rr):
    return heart[:, 0, :1]

  def similarity(self, h, v):
    return -(h - v.T) ** 2

  def pair_scores(self, video, heart, rr):
    return -(self.encode_heart(heart, rr) - self.encode_video(video))[:, 0] ** 2


def _split() -> clip_store.Split:
  n, t = len(SUBJECTS), 4
  video = np.broadcast_to(VIDEO_CODE[:, None, None, None, None], (n, t, 2, 2, 3)).astype(np.uint8)
  heart = np.zeros((n, t, 2), np.float32)
  heart[:, :, 0] = HEART_CODE[:, None]
  rows = [dict(subject=s, recording=f'rec-{s}', start_s=4.0 * i, mean_bpm=60.0 + 5 * i)
          for i, s in enumerate(SUBJECTS)]
  return clip_store.Split(video=video, heart=heart, rr=np.ones((n, 2), np.float32), rows=rows,
                          header={})


def test_learned_scores_over_padded_batches_and_the_summary_by_hand():
  mesh = parallel.data_mesh()  # 8 devices: batches of 8, the second padded with 5 repeats
  scores = scoring.learned_scores(FixedScores(), {}, _split(), 8, mesh)
  want = -(HEART_CODE[:, None] - VIDEO_CODE[None, :]).astype(float) ** 2
  np.testing.assert_array_equal(scores, want)  # every real clip once, no padding left

  wins = trials = 0
  per_subject = {}
  for i in range(len(SUBJECTS)):
    for j in range(len(SUBJECTS)):
      if SUBJECTS[i] != SUBJECTS[j]:
        won = 1.0 if want[i, i] > want[i, j] else 0.5 if want[i, i] == want[i, j] else 0.0
        wins, trials = wins + won, trials + 1
        per_subject.setdefault(SUBJECTS[i], []).append(won)
  summary = evaluate.summarise(scores, _split().rows, tiny_config('r', 's'))
  assert summary['two_afc'] == pytest.approx(wins / trials)
  assert 0 < summary['two_afc'] < 1  # the foils beat some hearts: a case that can fail
  assert summary['per_subject_two_afc'] == pytest.approx(
      {s: np.mean(v) for s, v in per_subject.items()})
  lo, hi = summary['two_afc_ci95']
  assert lo <= summary['two_afc'] <= hi
  assert sum(b['trials'] for b in summary['two_afc_by_rate_gap']) == trials

  pairs = scoring.score_pairs(FixedScores(), {}, _split().video, _split().heart,
                              _split().rr, mesh, batch=4)
  np.testing.assert_array_equal(pairs, np.diag(want))


def test_mirror_average_scores_each_video_and_its_mirror_image():
  """Left pixels carry the code, right pixels the code + 4: mirrored, the fake model reads
  the right ones, so each score is the mean of the two readings' scores."""
  split = _split()
  video = np.array(split.video)
  video[:, :, :, 1] += 4
  split = dataclasses.replace(split, video=video)
  mesh = parallel.data_mesh()
  h, v = HEART_CODE[:, None].astype(float), VIDEO_CODE[None, :].astype(float)
  want = -0.5 * ((h - v) ** 2 + (h - v - 4) ** 2)
  np.testing.assert_allclose(scoring.learned_scores(FixedScores(), {}, split, 8, mesh,
                                                    mirror=True), want)
  np.testing.assert_allclose(scoring.score_pairs(FixedScores(), {}, video, split.heart, split.rr,
                                                 mesh, batch=4, mirror=True), np.diag(want))
  plain = scoring.learned_scores(FixedScores(), {}, split, 8, mesh)
  np.testing.assert_array_equal(plain, -(h - v) ** 2)  # without: the left pixels only


def test_a_split_whose_clips_carry_a_label_is_reported_per_level():
  split = _split()
  scores = -(HEART_CODE[:, None] - VIDEO_CODE[None, :]).astype(float) ** 2
  rows = [dict(r, light='dim' if i % 2 else 'bright') for i, r in enumerate(split.rows)]
  cfg = tiny_config('r', 's')
  summary = evaluate.summarise(scores, rows, cfg)
  assert list(summary['by_label']) == ['light']
  assert [v['level'] for v in summary['by_label']['light']] == ['dim', 'bright']
  dim = np.array([r['light'] == 'dim' for r in rows])
  subjects = np.array(SUBJECTS)
  won = [1.0 if scores[i, i] > scores[i, j] else 0.5 if scores[i, i] == scores[i, j] else 0.0
         for i in np.flatnonzero(dim) for j in np.flatnonzero(dim) if subjects[i] != subjects[j]]
  assert summary['by_label']['light'][0]['accuracy'] == pytest.approx(np.mean(won))
  assert summary['by_label']['light'][0]['trials'] == len(won)
  assert not evaluate.summarise(scores, split.rows, cfg)['by_label']  # no label: no table
  table = '\n'.join(report_lib.label_tables({'hrjax': summary}))
  assert '## 2AFC by light' in table and f'| hrjax (learned) | {np.mean(won):.3f} [' in table
