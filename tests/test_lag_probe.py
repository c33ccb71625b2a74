"""scripts/lag_probe.py: the best lag of each true pair follows a shift of the heart."""

import dataclasses
import sys

import numpy as np

sys.path.insert(0, 'scripts')

import lag_probe  # noqa: E402

from hrjax.data import clip_store  # noqa: E402
from hrjax.training import restore  # noqa: E402


def test_delaying_the_heart_moves_the_best_lag_by_the_delay(tiny_run):
  cfg, workdir, _ = tiny_run
  trained = restore.load(workdir)
  split = clip_store.open_split(cfg.data.store, 'test')
  lags, corr = lag_probe.best_lags(trained, split, 6)
  assert corr.shape == (len(split), 13) and np.all(np.abs(lags) <= 6)
  assert np.array_equal(lags, corr.argmax(-1) - 6)
  late = dataclasses.replace(split, heart=np.roll(np.asarray(split.heart), 2, axis=1))
  moved, _ = lag_probe.best_lags(trained, late, 6)
  # The encoders are convolutions in time: a heart two frames later matches two lags over,
  # save where the clip's ends get in the way.
  assert np.mean(np.abs(moved - lags) == 2) > 0.7
  assert len(set(np.sign(moved - lags)[np.abs(moved - lags) == 2])) == 1
  text = lag_probe.store_table('s', lags, corr, 3)
  assert text.startswith(f's: {len(split)} clips; best lag inside ±3: ')
  shares = [float(part.split(': ')[1]) for part in text.split('share by lag: ')[1].split(', ')]
  assert len(shares) == 13 and abs(sum(shares) - 1) < 0.08  # two decimals each
