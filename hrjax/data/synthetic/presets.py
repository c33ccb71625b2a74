"""Difficulty presets of the synthetic generator: every knob, as a (low, high) range.

`default` is a lab recording: a seated person, some head motion, room light,
a camera saving near-lossless video (as UBFC-rPPG and PURE were recorded).
`hard` adds what web copies and uncontrolled sessions bring: stronger motion
and light changes, weaker pulses, heavy H.264 compression. `easy` is a still
face under steady light.

Each recording draws its own value of every knob uniformly from its range, so
one dataset mixes calm and hard recordings. Amplitudes are fractions: `motion`
of the frame size, `pulse_amp` of the skin's brightness in the green channel.
"""

from __future__ import annotations

import numpy as np

KNOB_DOCS = {
    'bpm': 'mean heart rate of a recording, beats per minute',
    'melanin': 'skin melanin fraction: 0 light, 1 dark (darker skin: lower pulse SNR)',
    'pulse_amp': 'relative pulsatile brightness change of skin in green',
    'lag_frames': 'delay of the face pulse behind the recorded heart signal, frames',
    'motion': 'slow head translation, std as a fraction of the frame size',
    'moves_per_min': 'rate of quick head moves',
    'resp_motion': 'breathing-driven vertical motion, fraction of the frame size',
    'rotation_deg': 'head roll amplitude, degrees',
    'scale': 'relative head scale change (moving toward the camera)',
    'illum_drift': 'slow relative change of the light level',
    'flicker': 'relative amplitude of aliased mains flicker',
    'flicker_hz': 'apparent flicker frequency after aliasing, Hz',
    'exposure': 'light level times exposure, linear units',
    'colour_drift': 'relative per-channel white-balance drift',
    'gradient': 'strength of the spatial light gradient across the frame',
    'specular': 'gain of the specular highlight on skin',
    'gamma': 'camera transfer exponent (0.45: sRGB-like, 1: linear)',
    'noise': 'sensor read noise, 8-bit levels',
    'crf': 'H.264 constant rate factor of the written video (higher: lossier)',
    'yuv420': 'chance that a recording is stored with 4:2:0 chroma subsampling (else RGB)',
    'web_copy': 'chance that a recording is stored as a web copy instead: 4:2:0 H.264 at a '
                'bitrate (kbit_s), as the public copies of rPPG datasets are',
    'kbit_s': 'bitrate of a web copy, kbit/s of the rendered frame (at 96 x 96 pixels)',
}
# Knobs drawn from a random stream of their own (`sample_knobs`'s `encoding_rng`), after the
# others: adding them changed no earlier dataset's draws, so those regenerate byte for byte.
ENCODING_KNOBS = ('web_copy', 'kbit_s')

_DEFAULT = dict(
    bpm=(45.0, 150.0), melanin=(0.0, 1.0), pulse_amp=(0.004, 0.012), lag_frames=(0.0, 2.0),
    motion=(0.003, 0.02), moves_per_min=(0.0, 3.0), resp_motion=(0.0, 0.004),
    rotation_deg=(0.0, 4.0), scale=(0.0, 0.03), illum_drift=(0.0, 0.08),
    flicker=(0.0, 0.01), flicker_hz=(3.0, 14.0), exposure=(0.55, 1.0),
    colour_drift=(0.0, 0.03), gradient=(0.0, 0.4), specular=(0.0, 0.4),
    gamma=(0.45, 1.0), noise=(0.5, 3.0), crf=(10.0, 18.0), yuv420=(0.0, 0.4),
    web_copy=(0.0, 0.0), kbit_s=(8.0, 64.0),
)

PRESETS = {
    'easy': dict(_DEFAULT, pulse_amp=(0.006, 0.012), motion=(0.0, 0.005), moves_per_min=(0.0, 0.0),
                 rotation_deg=(0.0, 1.0), scale=(0.0, 0.005), illum_drift=(0.0, 0.02),
                 flicker=(0.0, 0.0), specular=(0.0, 0.1), noise=(0.3, 1.0),
                 crf=(8.0, 12.0), yuv420=(0.0, 0.0), lag_frames=(0.0, 1.0)),
    'default': _DEFAULT,
    'hard': dict(_DEFAULT, bpm=(40.0, 180.0), pulse_amp=(0.001, 0.006), motion=(0.01, 0.04),
                 moves_per_min=(1.0, 8.0), rotation_deg=(1.0, 8.0), scale=(0.01, 0.06),
                 illum_drift=(0.03, 0.15), flicker=(0.0, 0.02), gradient=(0.2, 0.8),
                 specular=(0.1, 0.8), noise=(2.0, 5.0), crf=(20.0, 28.0), yuv420=(1.0, 1.0),
                 lag_frames=(0.0, 3.0)),
}
assert all(set(p) == set(KNOB_DOCS) for p in PRESETS.values())


def sample_knobs(rng: np.random.Generator, ranges: dict,
                 encoding_rng: np.random.Generator | None = None) -> dict:
  """Draw one recording's value of every knob from its (low, high) range: the
  `ENCODING_KNOBS` from `encoding_rng` (default: `rng`), after the others."""
  knobs = {k: float(rng.uniform(lo, hi)) for k, (lo, hi) in sorted(ranges.items())
           if k not in ENCODING_KNOBS}
  late = rng if encoding_rng is None else encoding_rng
  knobs.update({k: float(late.uniform(*ranges[k])) for k in ENCODING_KNOBS if k in ranges})
  return knobs
