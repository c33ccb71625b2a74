"""Beat-by-beat cardiac model: RR intervals, a blood-volume wave per beat, the fingertip
reference and the face's pulse.

RR intervals follow an AR(1) process around the mean interval, modulated by
breathing (respiratory sinus arrhythmia). Each beat's wave is a skewed systolic
upstroke (a gamma-shaped bump) plus a reflected wave. The face's pulse leads
the fingertip reference by the extra transit time to the finger (tens of ms),
and differs in shape (the face is closer to the heart: less reflected wave).
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Cardiac:
  t: np.ndarray  # [N] seconds
  finger: np.ndarray  # [N] reference PPG (what the heart file holds), unit std
  face: np.ndarray  # [N] blood volume at the face, unit std
  hr: np.ndarray  # [N] instantaneous rate, bpm
  breath: np.ndarray  # [N] respiration in [-1, 1]


def rr_intervals(rng: np.random.Generator, duration_s: float, mean_bpm: float,
                 breath_hz: float) -> np.ndarray:
  """Beat onset times (s) covering [-2, duration + 2]."""
  mean_rr = 60.0 / mean_bpm
  rsa, phi = rng.uniform(0.01, 0.06), rng.uniform(0.3, 0.9)
  onsets, t, dev = [], -2.0 - rng.uniform(0, mean_rr), 0.0
  while t < duration_s + 2.0:
    onsets.append(t)
    dev = phi * dev + rng.normal(0, 0.015)
    rr = mean_rr * (1 + dev + rsa * np.sin(2 * np.pi * breath_hz * t))
    t += float(np.clip(rr, 0.3, 1.6))
  return np.array(onsets)


def beat_wave(phase: np.ndarray, reflected: float, notch_at: float) -> np.ndarray:
  """One beat's volume over phase in [0, 1): a gamma-shaped upstroke and a reflected bump."""
  k = 3.0
  x = phase / 0.22
  main = x ** k * np.exp(k * (1 - x))
  echo = reflected * np.exp(-0.5 * ((phase - notch_at) / 0.07) ** 2)
  return main + echo


def wave(t: np.ndarray, onsets: np.ndarray, delay_s: float, reflected: float,
         notch_at: float) -> np.ndarray:
  idx = np.clip(np.searchsorted(onsets, t - delay_s, side='right') - 1, 0, len(onsets) - 2)
  start, length = onsets[idx], np.diff(onsets)[idx]
  phase = np.clip((t - delay_s - start) / length, 0, 1)
  y = beat_wave(phase, reflected, notch_at)
  return (y - y.mean()) / (y.std() + 1e-9)


def simulate(rng: np.random.Generator, t: np.ndarray, mean_bpm: float,
             lead_s: float) -> Cardiac:
  """The cardiac signals at times `t`; the face pulse leads the finger by `lead_s`."""
  breath_hz = rng.uniform(0.15, 0.4)
  onsets = rr_intervals(rng, float(t[-1]), mean_bpm, breath_hz)
  notch = rng.uniform(0.45, 0.6)
  finger_delay = rng.uniform(0.18, 0.25)
  finger = wave(t, onsets, finger_delay, rng.uniform(0.25, 0.6), notch)
  face = wave(t, onsets, finger_delay - lead_s, rng.uniform(0.05, 0.25), notch)
  breath = np.sin(2 * np.pi * breath_hz * t + rng.uniform(0, 2 * np.pi))
  face = face * (1 + rng.uniform(0, 0.2) * breath)  # breathing modulates the amplitude
  finger = finger + rng.uniform(0.0, 0.3) * breath  # and wanders the contact PPG's baseline
  centre = onsets[:-1] + np.diff(onsets) / 2
  hr = np.interp(t, centre, 60.0 / np.diff(onsets))
  return Cardiac(t=t, finger=finger, face=face, hr=hr, breath=breath)
