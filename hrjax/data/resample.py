"""Frames onto a common frame rate: linear interpolation of a timestamped frame stream."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np


def resample_in_time(frames: Iterable[np.ndarray], times: Iterable[float],
                     fps: float) -> Iterator[tuple[float, np.ndarray]]:
  """Linear interpolation of a frame stream (with its timestamps) onto a regular `fps` grid.

  Yields (time, frame) at t0 + k / fps, where t0 is the first input time, up to
  the last input time.
  """
  prev_t = prev = t0 = None
  k = 0
  for t, frame in zip(times, frames):
    if prev is None:
      t0 = t
    while prev is not None and t0 + k / fps <= t:
      w = (t0 + k / fps - prev_t) / (t - prev_t)
      if w > 1 - 1e-6:  # on the grid (a video at the target rate): the frame itself
        yield t0 + k / fps, frame
      else:
        yield t0 + k / fps, prev.astype(np.float32) * (1 - w) + frame.astype(np.float32) * w
      k += 1
    if k == 0:
      yield t0, frame
      k = 1
    prev_t, prev = t, frame
