"""Classical rPPG (GREEN, CHROM, POS): pulse from a clip with no learning.

Each method turns a clip's mean skin colour over time into a pulse signal that
rises with blood volume (so it can be compared with a PPG directly), and
`baseline_scores` computes the same pairing scores as the learned model from it.
"""

from __future__ import annotations

import numpy as np

from hrjax.data import clip_store
from hrjax.data.heart_series import butterworth_bandpass, zscore
from hrjax.models import spectral


def mean_rgb(video: np.ndarray, center_fraction: float = 0.6) -> np.ndarray:
  """`[..., T, H, W, 3]` -> `[..., T, 3]`: mean colour over the clip's central region."""
  h, w = video.shape[-3:-1]
  dh, dw = int(h * (1 - center_fraction) / 2), int(w * (1 - center_fraction) / 2)
  return video[..., dh:h - dh, dw:w - dw, :].astype(np.float32).mean(axis=(-3, -2))


def green(rgb: np.ndarray, fps: float) -> np.ndarray:
  """The green channel, inverted: skin darkens as blood volume rises."""
  g = rgb[..., 1]
  return -(g / g.mean(-1, keepdims=True) - 1)


def chrom(rgb: np.ndarray, fps: float) -> np.ndarray:
  """CHROM (de Haan & Jeanne 2013). Its output already rises with blood volume:
  X = 3R - 2G grows as green darkens more than red."""
  n = rgb / rgb.mean(-2, keepdims=True)
  x = 3 * n[..., 0] - 2 * n[..., 1]
  y = 1.5 * n[..., 0] + n[..., 1] - 1.5 * n[..., 2]
  xf, yf = butterworth_bandpass(x, fps), butterworth_bandpass(y, fps)
  alpha = xf.std(-1, keepdims=True) / (yf.std(-1, keepdims=True) + 1e-9)
  return xf - alpha * yf


def pos(rgb: np.ndarray, fps: float, window_s: float = 1.6) -> np.ndarray:
  """POS (Wang et al. 2017) with overlap-add windows; negated so it rises with blood volume.

  As published, POS runs opposite to a fingertip PPG: the skin darkens as blood
  volume rises, and its projection keeps that sign.
  """
  t = rgb.shape[-2]
  win = max(2, int(round(window_s * fps)))
  out = np.zeros(rgb.shape[:-1], np.float64)
  proj = np.array([[0, 1, -1], [-2, 1, 1]], np.float64)
  for start in range(0, t - win + 1):
    c = rgb[..., start:start + win, :]
    cn = c / (c.mean(-2, keepdims=True) + 1e-9)
    s = cn @ proj.T  # [..., win, 2]
    h = s[..., 0] + (s[..., 0].std(-1, keepdims=True) / (s[..., 1].std(-1, keepdims=True)
                                                          + 1e-9)) * s[..., 1]
    out[..., start:start + win] += h - h.mean(-1, keepdims=True)
  return -out


METHODS = {'green': green, 'chrom': chrom, 'pos': pos}


def pulse_signals(video: np.ndarray, fps: float, method: str) -> np.ndarray:
  """`uint8 [N, T, H, W, 3]` -> band-passed, standardised pulse `[N, T]`."""
  return zscore(butterworth_bandpass(METHODS[method](mean_rgb(video), fps), fps))


def baseline_scores(method: str, split: clip_store.Split, representation: str, fps: float,
                    max_lag: int) -> np.ndarray:
  """`[N, N]` scores of a classical method over a split, every heart against every video.

  waveform: best lagged correlation of its pulse with the heart's pulse;
  hr / rr_summary: minus the gap between its spectral-peak rate and the heart's rate.
  """
  pulse = np.concatenate([pulse_signals(np.asarray(split.video[i:i + 64]), fps, method)
                          for i in range(0, len(split), 64)])  # [N, T], 64 clips in memory
  return pulse_scores(pulse, split, representation, fps, max_lag)


def pulse_scores(pulse: np.ndarray, split: clip_store.Split, representation: str, fps: float,
                 max_lag: int) -> np.ndarray:
  """`[N, N]` scores of band-passed, standardised pulse signals `[N, T]` (one per clip of
  `split`) against every clip's heart: what `baseline_scores` does with a classical
  method's pulse, for any method's (the pretrained peers' too)."""
  if representation == 'waveform':
    heart = zscore(np.asarray(split.heart[:, :, 0]))
    corr = spectral.lagged_correlation(heart[..., None], pulse[..., None], max_lag)
    return np.asarray(corr).max(-1)
  grid = spectral.bpm_grid()
  power = np.asarray(spectral.power_spectrum(pulse[..., None], fps, grid))[..., 0]
  est = grid[power.argmax(-1)]  # [N] video rates
  if representation == 'hr':
    rate = split.heart[:, :, 1].mean(1)
  else:
    rate = 60.0 / split.rr[:, 0]
  return -np.abs(rate[:, None] - est[None, :])
