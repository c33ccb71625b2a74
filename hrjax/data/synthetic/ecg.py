"""A synthetic ECG at known R-peak times: P, Q, R, S and T waves as Gaussians per beat.

The shape follows the textbook timing (McSharry et al. 2003 used the same five
waves); what matters for ingest tests is that each R-peak sits exactly at its
beat time, so that detection and alignment can be checked against the truth.
"""

from __future__ import annotations

import numpy as np

# (offset from the R-peak in s, width in s, amplitude in mV) of P, Q, R, S, T
WAVES = ((-0.17, 0.025, 0.12), (-0.035, 0.010, -0.15), (0.0, 0.011, 1.2),
         (0.035, 0.010, -0.25), (0.26, 0.05, 0.3))


def ecg_at(t: np.ndarray, r_peaks: np.ndarray, rng: np.random.Generator | None = None,
           noise_mv: float = 0.02, wander_mv: float = 0.1) -> np.ndarray:
  """ECG in mV at times `t` with R-peaks at `r_peaks`, plus noise and baseline wander."""
  x = np.zeros_like(t, dtype=float)
  for r in r_peaks:
    near = np.abs(t - r) < 0.6
    for offset, width, amp in WAVES:
      x[near] += amp * np.exp(-0.5 * ((t[near] - r - offset) / width) ** 2)
  if rng is not None:
    x += noise_mv * rng.standard_normal(len(t))
    x += wander_mv * np.sin(2 * np.pi * 0.2 * t + rng.uniform(0, 2 * np.pi))
  return x
