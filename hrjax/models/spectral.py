"""Fixed signal operations on `[B, T, D]` pulse features: band-pass, standardise, spectra."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from scipy import signal

BANDPASSES = ('fft', 'butterworth')


def bpm_grid(lo: float = 40.0, hi: float = 180.0, step: float = 2.0) -> np.ndarray:
  return np.arange(lo, hi + step / 2, step, dtype=np.float32)


def fft_bandpass(x: jax.Array, fps: float, lo_bpm: float = 40.0,
                 hi_bpm: float = 200.0) -> jax.Array:
  """Zero every rFFT bin of `[B, T, D]` outside the heart-rate band (along T)."""
  t = x.shape[1]
  freqs = np.fft.rfftfreq(t, 1.0 / fps) * 60.0
  mask = ((freqs >= lo_bpm) & (freqs <= hi_bpm)).astype(np.float32)
  spec = jnp.fft.rfft(x, axis=1) * mask[None, :, None]
  return jnp.fft.irfft(spec, n=t, axis=1)


def butterworth_bandpass(x: jax.Array, fps: float, lo_hz: float = 0.6,
                         hi_hz: float = 3.3) -> jax.Array:
  """`[B, T, D]` through a zero-phase Butterworth band-pass along T: scipy's `sosfiltfilt`
  (order 2, odd extension of 3 s at each end, as `data.heart_series.butterworth_bandpass`
  and the classical baselines filter), which is linear in the signal, applied as its `[T, T]`
  matrix. Unlike `fft_bandpass` it treats a clip as the piece of a longer signal that it
  is, not as one period of a periodic one: a drift across the clip does not wrap around
  from its last frame to its first and leak into every frequency."""
  m = _butterworth_matrix(x.shape[1], float(fps), float(lo_hz), float(hi_hz))
  return jnp.einsum('st,btd->bsd', m.astype(x.dtype), x)


@functools.lru_cache(maxsize=16)
def _butterworth_matrix(t: int, fps: float, lo_hz: float, hi_hz: float) -> np.ndarray:
  sos = signal.butter(2, [lo_hz, min(hi_hz, 0.45 * fps)], btype='band', fs=fps, output='sos')
  padlen = min(t - 1, 3 * int(fps))
  return signal.sosfiltfilt(sos, np.eye(t), axis=0, padlen=padlen).astype(np.float32)


def bandpass(name: str, x: jax.Array, fps: float) -> jax.Array:
  """The heart-band filter `name` (one of `BANDPASSES`) applied to `[B, T, D]` along T."""
  if name == 'fft':
    return fft_bandpass(x, fps)
  if name == 'butterworth':
    return butterworth_bandpass(x, fps)
  raise ValueError(f'band-pass must be one of {BANDPASSES}, got {name!r}')


def standardise(x: jax.Array, axis: int = 1, eps: float = 1e-6) -> jax.Array:
  x = x - x.mean(axis, keepdims=True)
  return x / jnp.sqrt((x * x).mean(axis, keepdims=True) + eps)


def power_spectrum(x: jax.Array, fps: float, grid: np.ndarray) -> jax.Array:
  """Hann-windowed power of `[B, T, D]` at the rates in `grid` (bpm): `[B, F, D]`.

  A direct DFT on a fine rate grid, so a 4-second clip still places its peak
  between the coarse FFT bins.
  """
  t = x.shape[1]
  time = np.arange(t) / fps
  window = np.hanning(t).astype(np.float32)
  phase = 2 * np.pi * grid[:, None] / 60.0 * time[None, :]
  cos, sin = (np.cos(phase) * window).astype(np.float32), (np.sin(phase) * window).astype(
      np.float32)
  x = x - x.mean(1, keepdims=True)
  re = jnp.einsum('ft,btd->bfd', cos, x)
  im = jnp.einsum('ft,btd->bfd', sin, x)
  return re * re + im * im


def lagged_correlation(h: jax.Array, v: jax.Array, max_lag: int) -> jax.Array:
  """Every heart against every video: `[B1, T, D]`, `[B2, T, D]` -> `[B1, B2, 2L+1]`.

  Mean over time and channels of standardised signals, with the heart shifted
  by -L..L frames; only the overlap of length T - 2L is used.
  """
  return _lagged(h, v, max_lag, 'itd,jtd->ij')


def paired_lagged_correlation(h: jax.Array, v: jax.Array, max_lag: int) -> jax.Array:
  """Each heart against its own video: `[B, T, D]`, `[B, T, D]` -> `[B, 2L+1]` (the
  diagonal of `lagged_correlation`)."""
  return _lagged(h, v, max_lag, 'itd,itd->i')


def _lagged(h: jax.Array, v: jax.Array, max_lag: int, pairs: str) -> jax.Array:
  t = h.shape[1]
  core = v[:, max_lag:t - max_lag]
  n = core.shape[1] * core.shape[2]
  return jnp.stack([jnp.einsum(pairs, h[:, max_lag + lag:t - max_lag + lag], core) / n
                    for lag in range(-max_lag, max_lag + 1)], -1)
