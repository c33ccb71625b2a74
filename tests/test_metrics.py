"""Metrics against values worked out by hand on small fixed score matrices."""

import numpy as np
import pytest

from hrjax.evaluation import metrics, recordings

# 3 clips of 3 subjects. Row i: heart i against videos 0..2; true pairs on the diagonal.
S = np.array([[0.9, 0.1, 0.9],   # trials (0,1): win, (0,2): tie
              [0.5, 0.4, 0.2],   # (1,0): loss, (1,2): win
              [0.0, 0.3, 0.8]])  # (2,0): win, (2,1): win
SUBJ = np.array(['a', 'b', 'c'])


def test_two_afc_by_hand():
  assert metrics.two_afc(S, SUBJ) == pytest.approx((1 + 0.5 + 0 + 1 + 1 + 1) / 6)


def test_two_afc_ignores_same_subject_pairs():
  subj = np.array(['a', 'a', 'c'])  # (0,1) and (1,0) are not trials
  assert metrics.two_afc(S, subj) == pytest.approx((0.5 + 1 + 1 + 1) / 4)


def test_auc_by_hand():
  # Positives 0.9, 0.4, 0.8 against negatives 0.1, 0.9, 0.5, 0.2, 0.0, 0.3.
  # 0.9: beats 5, ties 1 -> 5.5; 0.4: beats 0.1, 0.2, 0.0, 0.3 -> 4; 0.8: beats 5 -> 5.
  assert metrics.roc_auc(S, SUBJ) == pytest.approx((5.5 + 4 + 5) / 18)


def test_bootstrap_is_deterministic_and_brackets_the_estimate():
  rng = np.random.default_rng(0)
  subj = np.repeat(np.arange(8), 3).astype(str)
  scores = rng.normal(size=(24, 24)) + 1.5 * np.eye(24)
  a = metrics.two_afc_bootstrap(scores, subj, 300, seed=4)
  b = metrics.two_afc_bootstrap(scores, subj, 300, seed=4)
  c = metrics.two_afc_bootstrap(scores, subj, 300, seed=5)
  assert a == b and a != c
  assert a[0] <= metrics.two_afc(scores, subj) <= a[1]


def test_bootstrap_of_a_perfect_model_is_one():
  subj = np.array(['a', 'b', 'c', 'd'])
  assert metrics.two_afc_bootstrap(np.eye(4), subj, 100) == (1.0, 1.0)


def test_n_way_perfect_chance_and_ties():
  subj = np.arange(6).astype(str)
  perfect = metrics.n_way(np.eye(6), subj, 4, trials=200)
  assert perfect == dict(top1=1.0, mean_rank=1.0)
  ties = metrics.n_way(np.zeros((6, 6)), subj, 4, trials=200)
  assert ties['top1'] == pytest.approx(0.25) and ties['mean_rank'] == pytest.approx(2.5)
  worst = metrics.n_way(-np.eye(6), subj, 3, trials=50)
  assert worst == dict(top1=0.0, mean_rank=3.0)
  assert np.isnan(metrics.n_way(np.eye(6), subj, 7, trials=10)['top1'])


def test_per_subject_and_rate_gap_by_hand():
  # S as above: heart a wins 1.5 of 2, b 1 of 2, c 2 of 2.
  assert metrics.per_subject_two_afc(S, SUBJ) == {'a': 0.75, 'b': 0.5, 'c': 1.0}
  bpm = np.array([60.0, 63.0, 90.0])  # gaps: a-b 3, a-c 30, b-c 27
  bins = metrics.two_afc_by_rate_gap(S, SUBJ, bpm, edges=(0, 10))
  # 0-10: trials (0,1) win, (1,0) loss -> 0.5; 10+: (0,2) tie, (1,2) win, (2,0), (2,1) wins.
  assert [(b['trials'], b['accuracy']) for b in bins] == [(2, 0.5), (4, (0.5 + 1 + 1 + 1) / 4)]


def test_roc_curve_by_hand_and_its_area_is_the_auc():
  # Positives 0.9, 0.4, 0.8; negatives 0.1, 0.9, 0.5, 0.2, 0.0, 0.3 (S above).
  fpr, tpr = metrics.roc_curve(S, SUBJ)
  # Thresholds 0.9 (tie: 1 pos, 1 neg), 0.8, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0.
  assert np.allclose(tpr, [0, 1 / 3, 2 / 3, 2 / 3, 1, 1, 1, 1, 1])
  assert np.allclose(fpr, [0, 1 / 6, 1 / 6, 2 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6, 1])
  assert np.trapezoid(tpr, fpr) == pytest.approx(metrics.roc_auc(S, SUBJ))


def test_recording_two_afc_by_hand_over_the_common_clip_times():
  # Recording A (subject a) has 3 clips, B (subject b) 2; rows come out of time order.
  rows = [dict(subject='a', recording='A', start_s=s) for s in (8.0, 0.0, 4.0)] + [
      dict(subject='b', recording='B', start_s=s) for s in (4.0, 0.0)]
  # In time order: A = rows 1, 2, 0; B = rows 4, 3.
  s = np.zeros((5, 5))
  s[1, 1] = s[2, 2] = 1.0
  s[0, 0] = -5.0  # A's third clip: outside B's clip times, so it must not count
  s[1, 4] = s[2, 3] = 0.0  # heart A against video B: own 1.0 > 0.0, a win
  s[4, 4] = s[3, 3] = 0.5
  s[4, 1] = s[3, 2] = 0.9  # heart B against video A: own 0.5 < 0.9, a loss
  s[4, 2] = s[3, 1] = -9.0  # misaligned clip times: would make heart B win if counted
  names, subjects, clips = recordings.recording_clips(rows)
  assert names == ['A', 'B'] and list(subjects) == ['a', 'b']
  assert [list(c) for c in clips] == [[1, 2, 0], [4, 3]]
  r = recordings.recording_two_afc(s, rows, n_boot=50)
  assert r['two_afc'] == pytest.approx(0.5)
  assert (r['recordings'], r['trials']) == (2, 2)
  s[4, 1] = s[3, 2] = 0.5  # a tie counts half
  assert recordings.recording_two_afc(s, rows, n_boot=50)['two_afc'] == pytest.approx(0.75)


def test_calibration_by_hand():
  sig = lambda m: 1 / (1 + np.exp(-m))
  margins = np.array([2.0, -1.0, 0.0, 3.0])  # right, wrong, a tie, right
  cal = metrics.calibration(margins)
  conf = [0.5, 1 - sig(-1.0), sig(2.0), sig(3.0)]  # bins 0.50-0.55, 0.70-0.75, 0.85-0.90, 0.95-1
  assert [b['trials'] for b in cal['bins']] == [1, 1, 1, 1]
  assert [b['lo'] for b in cal['bins']] == pytest.approx([0.5, 0.7, 0.85, 0.95])
  assert [b['accuracy'] for b in cal['bins']] == [0.5, 0.0, 1.0, 1.0]
  want = (abs(conf[0] - 0.5) + abs(conf[1] - 0) + abs(conf[2] - 1) + abs(conf[3] - 1)) / 4
  assert cal['ece'] == pytest.approx(want)
  assert metrics.calibration(np.array([-50.0, 50.0]))['ece'] == pytest.approx(0.5)
  assert list(metrics.trial_margins(S, SUBJ)) == pytest.approx(
      [0.8, 0.0, -0.1, 0.2, 0.8, 0.5])


def test_two_afc_by_length_by_hand():
  # Recordings A (subject a) and B (subject b), two clips each, in time order 0, 1 / 2, 3.
  rows = [dict(subject='a', recording='A', start_s=0.0), dict(subject='a', recording='A',
                                                             start_s=4.0),
          dict(subject='b', recording='B', start_s=0.0), dict(subject='b', recording='B',
                                                             start_s=4.0)]
  s = np.zeros((4, 4))
  s[0, 0], s[1, 1], s[0, 2], s[1, 3] = 1.0, 0.0, 0.5, 0.2  # heart A: window 0 right, 1 wrong
  s[2, 2], s[3, 3], s[2, 0], s[3, 1] = 0.3, 0.3, 0.4, 0.0  # heart B: window 0 wrong, 1 right
  one, two = recordings.two_afc_by_length(s, rows, windows=(1, 2))
  assert (one['trials'], one['accuracy']) == (4, 0.5)
  # Two clips: A own 0.5 > foil 0.35 (right); B own 0.3 > foil 0.2 (right).
  assert (two['trials'], two['accuracy']) == (2, 1.0)


def test_two_afc_by_level_judges_each_level_on_its_own_trials():
  # Subjects 0-3 filmed in 'dim' light, 4-7 in 'bright', one clip each. The scores pair every
  # dim heart with its own video; bright hearts prefer any other bright video to their own.
  subjects = np.arange(8)
  levels = np.array(['dim'] * 4 + ['bright'] * 4)
  scores = np.zeros((8, 8))
  scores[np.arange(4), np.arange(4)] = 1.0
  scores[4:, 4:] = 1.0 - 2 * np.eye(4)
  got = {v['level']: v for v in metrics.two_afc_by_level(scores, subjects, levels, 200)}
  assert got['dim']['accuracy'] == 1.0 and got['bright']['accuracy'] == 0.0
  assert got['dim']['trials'] == got['bright']['trials'] == 12  # 4 x 3, no cross-level foil
  assert got['dim']['subjects'] == 4 and got['dim']['ci95'] == [1.0, 1.0]
