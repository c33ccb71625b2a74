"""Cardiac and respiratory signals of a synthetic subject.

A heart-rate trajectory (mean rate, slow drift, respiratory sinus arrhythmia,
beat-to-beat jitter) is integrated into beat times; each beat draws a pulse
wave with a systolic peak and a dicrotic wave. The waveform rises with blood
volume, as a fingertip PPG does in the public datasets.
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Physiology:
  """One recording's ground truth, sampled at `t` (seconds)."""

  t: np.ndarray  # [N] sample times
  ppg: np.ndarray  # [N] blood-volume pulse, rising with volume, unit std
  hr: np.ndarray  # [N] instantaneous heart rate, bpm
  resp: np.ndarray  # [N] respiration, unit amplitude
  beats: np.ndarray  # [M] beat (foot of the wave) times, seconds


def heart_rate_trajectory(rng: np.random.Generator, t: np.ndarray, mean_bpm: float,
                          resp_hz: float, resp_phase: float) -> np.ndarray:
  """Instantaneous rate in bpm: mean + slow drift + respiratory sinus arrhythmia."""
  duration = max(t[-1] - t[0], 1.0)
  drift = np.zeros_like(t)
  for _ in range(3):  # a few slow random sinusoids: minutes-scale drift
    period = rng.uniform(duration, 4 * duration)
    drift += rng.normal(0, 0.03) * np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))
  rsa = rng.uniform(0.01, 0.05) * np.sin(2 * np.pi * resp_hz * t + resp_phase)
  return np.clip(mean_bpm * (1 + drift + rsa), 35.0, 200.0)


def beat_times(rng: np.random.Generator, t: np.ndarray, hr: np.ndarray,
               jitter: float) -> np.ndarray:
  """Beat onsets from integrating the rate, with beat-to-beat interval jitter."""
  beats = [t[0] - rng.uniform(0, 60.0 / hr[0])]
  while beats[-1] < t[-1] + 2.0:
    rate = np.interp(beats[-1], t, hr)
    beats.append(beats[-1] + 60.0 / rate * (1 + rng.normal(0, jitter)))
  return np.asarray(beats)


def pulse_wave(phase: np.ndarray, shape: dict) -> np.ndarray:
  """One beat of a PPG as a function of phase in [0, 1): systolic + dicrotic waves."""
  systolic = np.exp(-0.5 * ((phase - shape['sys_pos']) / shape['sys_width']) ** 2)
  dicrotic = shape['dic_amp'] * np.exp(
      -0.5 * ((phase - shape['dic_pos']) / shape['dic_width']) ** 2)
  return systolic + dicrotic


def random_wave_shape(rng: np.random.Generator) -> dict:
  return dict(sys_pos=rng.uniform(0.18, 0.3), sys_width=rng.uniform(0.07, 0.12),
              dic_pos=rng.uniform(0.45, 0.6), dic_width=rng.uniform(0.08, 0.15),
              dic_amp=rng.uniform(0.15, 0.6))


def ppg_from_beats(rng: np.random.Generator, t: np.ndarray, beats: np.ndarray,
                   shape: dict, amp_jitter: float) -> np.ndarray:
  """Blood-volume waveform at times `t` from beat onsets, per-beat amplitude jitter."""
  idx = np.clip(np.searchsorted(beats, t, side='right') - 1, 0, len(beats) - 2)
  start, end = beats[idx], beats[idx + 1]
  phase = np.clip((t - start) / (end - start), 0.0, 1.0)
  amps = 1 + amp_jitter * rng.standard_normal(len(beats))
  return amps[idx] * pulse_wave(phase, shape)


def simulate(rng: np.random.Generator, t: np.ndarray, mean_bpm: float,
             jitter: float = 0.02) -> Physiology:
  """Sample one recording's heart and breathing at times `t` (seconds)."""
  resp_hz = rng.uniform(0.15, 0.4)
  resp_phase = rng.uniform(0, 2 * np.pi)
  hr = heart_rate_trajectory(rng, t, mean_bpm, resp_hz, resp_phase)
  beats = beat_times(rng, t, hr, jitter)
  ppg = ppg_from_beats(rng, t, beats, random_wave_shape(rng), amp_jitter=0.08)
  resp = np.sin(2 * np.pi * resp_hz * t + resp_phase)
  ppg = ppg + rng.uniform(0.05, 0.2) * resp  # breathing modulates blood volume too
  ppg = (ppg - ppg.mean()) / (ppg.std() + 1e-8)
  # The rate a device reports is the beat-interval rate, not the modulating curve.
  rr = np.diff(beats)
  beat_hr = np.interp(t, beats[1:], 60.0 / rr)
  return Physiology(t=t, ppg=ppg.astype(np.float32), hr=beat_hr.astype(np.float32),
                    resp=resp.astype(np.float32), beats=beats)
