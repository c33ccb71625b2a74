"""Measurable probes of a clip store: how strong, how noisy and how coloured its pulse is.

A generator is calibrated against real recordings by numbers, not by eye: the same probes
on a synthetic store and on real faces say where they differ. Per clip, from the mean
colour of the central region (as the classical methods take it) and the recorded pulse:

  pulse_amp_pct    the green change that follows the recorded pulse (least squares at the
                   best lag), % of the mean level: the pulse's strength
  inband_noise_pct what else moves green in the heart band (0.6-3.3 Hz), %
  green_snr_db     20 log10 of their ratio
  chrom_snr_db     de Haan and Jeanne's spectral SNR of CHROM's pulse at the recorded rate
                   (power within 12 bpm of the rate and of its harmonic over the rest of
                   40-240 bpm); needs no waveform
  lag_frames       the face pulse's delay behind the recorded one (negative: it leads)
  pulse_dir        the pulse's colour direction: the darkening per channel (R, G, B) that
                   follows the pulse, unit length (one camera and skin: one direction)
  pixel_noise_pct  the median pixel's in-band change, %: what the network sees per pixel
                   before it pools
  drift_pct        slow (< 0.5 Hz) change of the mean green, %
  clipped_*        share of pixel samples whose relative change the network's input soft-
                   clips (|change| x gain > clip, `models.video.normalise_video`), about the
                   clip's mean and about a moving mean of `window` frames

A store's figures are over subjects (each subject's mean over its clips), so one subject
with many clips does not stand for the store. A rate-only store (no waveform) has the
probes that need none: CHROM's SNR at its rate, pixel noise, drift, soft clipping.
"""

from __future__ import annotations

import warnings

import jax.numpy as jnp
import numpy as np
from scipy import signal

from hrjax.data.heart_series import butterworth_bandpass, zscore
from hrjax.evaluation.baselines import chrom, mean_rgb
from hrjax.models.video import normalise_video

SCALARS = ('pulse_amp_pct', 'inband_noise_pct', 'green_snr_db', 'chrom_snr_db', 'lag_frames',
           'pixel_noise_pct', 'drift_pct', 'clipped_clip_mean', 'clipped_window')


def best_lag_fit(rel: np.ndarray, ref: np.ndarray, max_lag: int) -> tuple[int, np.ndarray,
                                                                          np.ndarray]:
  """Band-passed relative colour change `[T, 3]` against a standardised pulse `[T]` that
  rises with blood volume: (lag, per-channel slope `[3]`, fitted change `[T, 3]`).

  The lag is where green darkens most with the pulse (skin absorbs more as blood volume
  rises): `rel[t] ~ slope * ref[t - lag]` over the frames both cover; outside them the fit
  is zero.
  """
  t = len(ref)
  best = None
  for lag in range(-max_lag, max_lag + 1):
    a, b = max(lag, 0), t + min(lag, 0)  # rel[a:b] against ref[a - lag:b - lag]
    r, v = ref[a - lag:b - lag], rel[a:b]
    slope = (v * r[:, None]).sum(0) / ((r * r).sum() + 1e-12)
    if best is None or slope[1] < best[1][1]:
      best = (lag, slope, a, b, r)
  lag, slope, a, b, r = best
  fitted = np.zeros_like(rel)
  fitted[a:b] = r[:, None] * slope
  return lag, slope, fitted


def spectral_snr_db(pulse: np.ndarray, fps: float, bpm: float, half_width_bpm: float = 12.0,
                    pad: int = 1024) -> float:
  """de Haan and Jeanne's SNR (2013): power near the rate and its first harmonic over the
  rest of 40-240 bpm, in dB. 128 frames resolve only 14 bpm, hence the wide window."""
  spec = np.abs(np.fft.rfft(pulse * np.hanning(len(pulse)), pad)) ** 2
  f_bpm = np.fft.rfftfreq(pad, 1.0 / fps) * 60.0
  band = (f_bpm >= 40.0) & (f_bpm <= 240.0)
  near = (np.abs(f_bpm - bpm) <= half_width_bpm) | (np.abs(f_bpm - 2 * bpm) <= half_width_bpm)
  sig, rest = spec[band & near].sum(), spec[band & ~near].sum()
  return float(10 * np.log10((sig + 1e-20) / (rest + 1e-20)))


def clipped_share(video: np.ndarray, gain: float, clip: float, window: int) -> tuple[float,
                                                                                     float]:
  """Share of pixel samples of `uint8 [T, H, W, 3]` past the input's linear range (|change|
  x gain > clip, where `tanh` bends), about the clip mean and about a centred moving mean
  of `window` frames: the network's own `normalise_video`, so the probe counts what it sees."""
  bend = clip * np.tanh(1.0)
  shares = []
  for w in (0, window):
    rel, _ = normalise_video(jnp.asarray(video[None]), gain, clip, window=w)
    shares.append(float((np.abs(np.asarray(rel)) > bend).mean()))
  return shares[0], shares[1]


def clip_probes(video: np.ndarray, pulse: np.ndarray | None, bpm: float, fps: float, *,
                gain: float = 50.0, clip: float = 3.0, window: int = 45,
                max_lag: int = 6) -> dict:
  """The probes of one clip: `uint8 [T, H, W, 3]`, its recorded pulse `[T]` (rising with
  blood volume; None for a rate-only clip: the probes that need it are NaN) and mean rate
  (bpm). Scalars as in the module docstring, `pulse_dir` `[3]` and `noise_spectrum` (the
  power of green's change beside the pulse, per rfft bin)."""
  rgb = mean_rgb(video[None])[0].astype(np.float64)  # [T, 3]
  rel = rgb / rgb.mean(0) - 1.0
  rel_bp = butterworth_bandpass(rel, fps, axis=0)
  if pulse is None:
    lag, slope, fitted = np.nan, np.full(3, np.nan), np.zeros_like(rel)
  else:
    ref = zscore(butterworth_bandpass(pulse.astype(np.float64), fps))
    lag, slope, fitted = best_lag_fit(rel_bp, ref, max_lag)
  amp = abs(slope[1])
  noise = np.nan if pulse is None else (rel_bp[:, 1] - fitted[:, 1]).std()
  residual = rel[:, 1] - fitted[:, 1]
  residual = residual - residual.mean()
  low = signal.sosfiltfilt(signal.butter(2, 0.5, fs=fps, output='sos'), rel[:, 1])
  h, w = video.shape[1:3]
  dh, dw = int(h * 0.2), int(w * 0.2)
  pixels = video[:, dh:h - dh, dw:w - dw].astype(np.float64)
  pixel_rel = butterworth_bandpass(pixels / (pixels.mean(0) + 1.0) - 1.0, fps, axis=0)
  clipped = clipped_share(video, gain, clip, window)
  return dict(
      pulse_amp_pct=100 * amp, inband_noise_pct=100 * noise,
      green_snr_db=float(20 * np.log10((amp + 1e-12) / (noise + 1e-12))),
      chrom_snr_db=spectral_snr_db(chrom(rgb, fps), fps, bpm), lag_frames=float(lag),
      pulse_dir=-slope / (np.linalg.norm(slope) + 1e-12),
      pixel_noise_pct=float(100 * np.median(pixel_rel.std(0)[..., 1])),
      drift_pct=float(100 * low.std()),
      clipped_clip_mean=clipped[0], clipped_window=clipped[1],
      noise_spectrum=np.abs(np.fft.rfft(residual * np.hanning(len(residual)))) ** 2)


def store_summary(per_clip: list[dict], subjects: list[str]) -> dict:
  """Clip probes -> a store's figures over subjects: for each scalar the mean and sd of
  the subjects' means; the mean pulse direction and the mean angle (degrees) between a
  subject's direction and it; the mean noise spectrum."""
  names = sorted(set(subjects))
  of = {s: [p for p, q in zip(per_clip, subjects) if q == s] for s in names}
  out = dict(subjects=len(names), clips=len(per_clip))
  with warnings.catch_warnings():  # rate-only stores: the waveform's probes are all NaN
    warnings.simplefilter('ignore', RuntimeWarning)
    for key in SCALARS:
      means = np.array([np.nanmean([p[key] for p in of[s]]) for s in names])
      means = means[np.isfinite(means)]
      out[key] = dict(mean=float(means.mean()) if len(means) else float('nan'),
                      sd=float(means.std(ddof=1)) if len(means) > 1 else 0.0)
    dirs = np.array([np.nanmean([p['pulse_dir'] for p in of[s]], 0) for s in names])
    dirs = dirs[np.isfinite(dirs).all(1)]
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True) + 1e-12
    mean_dir = dirs.mean(0) / (np.linalg.norm(dirs.mean(0)) + 1e-12)
    angles = np.degrees(np.arccos(np.clip(dirs @ mean_dir, -1.0, 1.0)))
    out['pulse_dir'] = dict(mean=[float(v) for v in mean_dir], spread_deg=float(angles.mean()))
  out['noise_spectrum'] = [float(v) for v in np.mean([p['noise_spectrum'] for p in per_clip], 0)]
  return out
