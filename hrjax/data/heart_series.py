"""Heart signals to the clip contract: `pulse` and `hr` channels at video frame times.

A recording's heart signal arrives as a PPG waveform with its own timestamps,
as R-peak times from an ECG, or as a heart rate only. Everything here maps it
onto the frame times of the video, so that frame k and heart sample k describe
the same instant.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import signal

HEART_CHANNELS = ('pulse', 'hr')
MIN_BPM, MAX_BPM = 35.0, 200.0
# R-peak to the peak of blood volume in the face: the pulse arrival (about 0.1-0.2 s to
# the foot of the wave) plus the rise to the systolic peak. An ECG-derived pulse peaks
# this long after each R-peak, so it lines up with the face the way a PPG would.
PULSE_ARRIVAL_S = 0.25


@dataclasses.dataclass(frozen=True)
class HeartSeries:
  """A heart signal on its own time axis (seconds, on the video's clock)."""

  t: np.ndarray  # [N] sample times
  pulse: np.ndarray | None  # [N] waveform rising with blood volume, or None (rate only)
  hr: np.ndarray  # [N] heart rate, bpm
  beats: np.ndarray  # [M] beat times (systolic peaks or R-peaks); empty when unknown


def butterworth_bandpass(x: np.ndarray, fs: float, lo_hz: float = 0.6, hi_hz: float = 3.3,
                         axis: int = -1) -> np.ndarray:
  """Zero-phase Butterworth band-pass over the heart-rate band (signals of any length; the
  network's own band-pass is `models.spectral.fft_bandpass`, a mask over FFT bins)."""
  hi_hz = min(hi_hz, 0.45 * fs)
  sos = signal.butter(2, [lo_hz, hi_hz], btype='band', fs=fs, output='sos')
  padlen = min(x.shape[axis] - 1, 3 * int(fs))
  return signal.sosfiltfilt(sos, x, axis=axis, padlen=padlen)


def zscore(x: np.ndarray, axis: int = -1) -> np.ndarray:
  """Zero mean, unit standard deviation along `axis` (numpy; the network's is
  `models.spectral.standardise`)."""
  x = x - x.mean(axis, keepdims=True)
  return x / (x.std(axis, keepdims=True) + 1e-9)


def detect_pulse_peaks(t: np.ndarray, ppg: np.ndarray) -> np.ndarray:
  """Systolic peak times of a PPG (rising with blood volume)."""
  fs = 1.0 / np.median(np.diff(t))
  filtered = butterworth_bandpass(ppg - ppg.mean(), fs)
  # Distance: no two beats closer than the fastest plausible rate allows.
  peaks, _ = signal.find_peaks(filtered, distance=max(1, int(fs * 60 / MAX_BPM)),
                               prominence=0.3 * np.std(filtered))
  return t[peaks]


def rate_from_beats(beats: np.ndarray, t: np.ndarray) -> np.ndarray:
  """Instantaneous rate (bpm) at times `t` from beat times, plausible intervals only."""
  rr = np.diff(beats)
  mid = beats[1:]
  ok = (rr > 60 / MAX_BPM) & (rr < 60 / MIN_BPM)
  if ok.sum() < 2:
    return np.full(t.shape, np.nan)
  return np.interp(t, mid[ok], 60.0 / rr[ok])


def from_ppg(t: np.ndarray, ppg: np.ndarray) -> HeartSeries:
  """A PPG waveform (rising with blood volume) with its own timestamps."""
  beats = detect_pulse_peaks(t, ppg)
  return HeartSeries(t=t, pulse=ppg, hr=rate_from_beats(beats, t), beats=beats)


def from_beats(beats: np.ndarray, fs: float = 100.0, arrival_s: float = PULSE_ARRIVAL_S,
               start: float | None = None, end: float | None = None) -> HeartSeries:
  """R-peak times (s) to a series at `fs` from `start` to `end` (both within the beats;
  by default the first and last beat).

  The pulse is a train of smooth blood-volume waves (Gaussian, sd 0.1 s), one
  peaking `arrival_s` after each R-peak: it carries the beat timing (phase and
  rate), not a PPG's shape. Symmetric waves keep their peaks in place through
  the band-pass that `at_frames` applies.
  """
  beats = np.asarray(beats, float)
  start = beats[0] if start is None else max(start, beats[0])
  end = beats[-1] if end is None else min(end, beats[-1])
  t = np.arange(start, end, 1.0 / fs)
  peaks = beats + arrival_s
  nearest = np.searchsorted(peaks, t)
  pulse = np.zeros_like(t)
  for k in (-2, -1, 0, 1):  # waves further than two beats away add nothing visible
    idx = np.clip(nearest + k, 0, len(peaks) - 1)
    pulse += np.where((nearest + k >= 0) & (nearest + k < len(peaks)),
                      np.exp(-0.5 * ((t - peaks[idx]) / 0.1) ** 2), 0.0)
  return HeartSeries(t=t, pulse=pulse, hr=rate_from_beats(beats, t), beats=beats)


def from_rate(t: np.ndarray, bpm: np.ndarray) -> HeartSeries:
  """A heart rate only: no waveform, no phase."""
  return HeartSeries(t=t, pulse=None, hr=np.asarray(bpm, float), beats=np.zeros(0))


def rr_summary(beats: np.ndarray, start: float, end: float, fallback_bpm: float) -> np.ndarray:
  """Mean RR interval (s) and its coefficient of variation within [start, end)."""
  inside = beats[(beats >= start) & (beats < end)]
  rr = np.diff(inside)
  rr = rr[(rr > 60 / MAX_BPM) & (rr < 60 / MIN_BPM)]
  if len(rr) < 2:  # rate-only data: the mean interval is all there is
    return np.array([60.0 / fallback_bpm, 0.0], np.float32)
  return np.array([rr.mean(), rr.std() / rr.mean()], np.float32)


def at_frames(series: HeartSeries, frame_t: np.ndarray) -> tuple[np.ndarray, bool]:
  """Resample onto frame times: `float32 [T, 2]` (pulse, hr) and whether a waveform exists.

  The pulse channel is band-passed and standardised (unit std); it is zero
  where there is no waveform.
  """
  hr = np.interp(frame_t, series.t, series.hr)
  if series.pulse is None:
    pulse = np.zeros_like(frame_t)
  else:
    fs = 1.0 / np.median(np.diff(frame_t))
    pulse = zscore(butterworth_bandpass(np.interp(frame_t, series.t, series.pulse), fs))
  return np.stack([pulse, hr], -1).astype(np.float32), series.pulse is not None
