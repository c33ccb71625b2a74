"""Render a face video from reflectance maps, a pulse and nuisances.

The pixel model is the skin reflection model behind POS (Wang et al. 2017):

  C(t, x) = I(t, x) * w(t) * [ A(x) * S(x) * (1 - a * p(t) * pbv * P(x)) + s(t) * Spec(x) ]

with I the illumination (drift, flicker, a spatial gradient), w a per-channel
white-balance drift, A the skin/face albedo, S the diffuse shading that moves
with the head, p the blood-volume pulse (skin darkens as blood volume rises),
pbv the blood-volume colour direction (green strongest), P where blood shows,
and Spec a specular lobe that carries no pulse. A camera then applies gamma,
shot and read noise and 8-bit quantisation; lossy compression comes later,
when the video is written.
"""

from __future__ import annotations

import functools

import numpy as np

from hrjax.data.regions import NON_SKIN, REGION_NAMES
from hrjax.data.synthetic.faces import FaceMaps, smooth_noise

# Blood-volume pulse direction in normalised RGB (de Haan & van Leest 2014).
PBV = np.array([0.33, 0.77, 0.53])


def smooth_series(rng: np.random.Generator, t: np.ndarray, max_hz: float,
                  n: int = 4) -> np.ndarray:
  """A smooth random series with unit-ish amplitude: a few random sinusoids."""
  out = np.zeros_like(t)
  for _ in range(n):
    out += np.sin(2 * np.pi * rng.uniform(0.01, max_hz) * t + rng.uniform(0, 2 * np.pi))
  return out / np.sqrt(n / 2)


def head_motion(rng: np.random.Generator, t: np.ndarray, knobs: dict,
                size: int, resp: np.ndarray) -> dict:
  """Per-frame translation (px), rotation (rad) and scale of the head."""
  amp = knobs['motion'] * size
  tx = amp * smooth_series(rng, t, 0.5)
  ty = amp * smooth_series(rng, t, 0.5) + knobs['resp_motion'] * size * resp
  # Occasional quicker moves (turning to look, shifting in the chair).
  for _ in range(rng.poisson(knobs['moves_per_min'] * (t[-1] - t[0]) / 60)):
    t0, dur = rng.uniform(t[0], t[-1]), rng.uniform(0.2, 0.8)
    step = np.clip((t - t0) / dur, 0, 1)
    tx += rng.normal(0, 2 * amp) * step
    ty += rng.normal(0, amp) * step
  rot = np.deg2rad(knobs['rotation_deg']) * smooth_series(rng, t, 0.3)
  scale = 1 + knobs['scale'] * smooth_series(rng, t, 0.2)
  return dict(tx=tx, ty=ty, rot=rot, scale=scale)


class Warp:
  """Bilinear samples of fixed float32 `[S, S, C]` maps under similarity transforms, in
  float32; zero outside. The maps' zero border and the pixel grid are made once for all the
  frames of a recording, and the four neighbours read from the flattened maps."""

  def __init__(self, stack: np.ndarray):
    self.size = stack.shape[0]
    self.flat = np.pad(stack, ((1, 1), (1, 1), (0, 0))).reshape(-1, stack.shape[2])
    self.y, self.x = np.mgrid[0:self.size, 0:self.size].astype(np.float32)

  def __call__(self, tx: float, ty: float, rot: float, scale: float) -> np.ndarray:
    size = self.size
    c = (size - 1) / 2
    # Python floats: the float32 grid stays float32 (a float64 scalar would promote it)
    x, y = self.x - (c + float(tx)), self.y - (c + float(ty))
    cos, sin = float(np.cos(-rot) / scale), float(np.sin(-rot) / scale)
    sx, sy = cos * x - sin * y + c, sin * x + cos * y + c
    left, upper = np.floor(sx), np.floor(sy)
    fx, fy = (sx - left)[..., None], (sy - upper)[..., None]
    x0, y0 = np.clip(left.astype(int) + 1, 0, size), np.clip(upper.astype(int) + 1, 0, size)
    x1, y1 = np.minimum(x0 + 1, size + 1), np.minimum(y0 + 1, size + 1)
    row0, row1 = y0 * (size + 2), y1 * (size + 2)  # rows of the padded maps, flattened
    at = functools.partial(np.take, self.flat, axis=0)  # faster than indexing, the same values
    top = at(row0 + x0) * (1 - fx) + at(row0 + x1) * fx
    bottom = at(row1 + x0) * (1 - fx) + at(row1 + x1) * fx
    return top * (1 - fy) + bottom * fy


def illumination(rng: np.random.Generator, t: np.ndarray, knobs: dict) -> dict:
  """Global intensity over time, a spatial gradient and per-channel drift."""
  drift = knobs['illum_drift'] * smooth_series(rng, t, 0.1)
  flicker = knobs['flicker'] * np.sin(2 * np.pi * knobs['flicker_hz'] * t + rng.uniform(0, 6.3))
  level = knobs['exposure'] * (1 + drift) * (1 + flicker)
  colour = 1 + knobs['colour_drift'] * np.stack(
      [smooth_series(rng, t, 0.05) for _ in range(3)], -1)
  gradient = knobs['gradient'] * rng.normal(0, 1, 2)
  wobble = 1 + 0.3 * smooth_series(rng, t, 0.1)
  return dict(level=level, colour=colour * rng.uniform(0.85, 1.15, 3),
              gradient=gradient, wobble=wobble)


def region_occupancy(maps: FaceMaps, motion: dict, every: int = 10) -> np.ndarray:
  """`float32 [S, S, R]`: the share of (every `every`-th) frames in which each image
  pixel showed each face region (`regions.REGION_NAMES`), the head's motion included."""
  onehot = (maps.regions[..., None] == np.arange(len(REGION_NAMES))).astype(np.float32)
  frames = range(0, len(motion['tx']), every)
  warp = Warp(onehot)
  total = sum(warp(motion['tx'][i], motion['ty'][i], motion['rot'][i], motion['scale'][i])
              for i in frames)
  total[..., NON_SKIN] += len(frames) - total.sum(-1)  # outside the head: background
  return total / len(frames)


def render_frames(rng: np.random.Generator, maps: FaceMaps, t: np.ndarray,
                  pulse: np.ndarray, resp: np.ndarray,
                  knobs: dict) -> tuple[np.ndarray, np.ndarray]:
  """Render `uint8 [T, S, S, 3]` frames (`pulse`: blood volume at the face), and the
  region occupancy of the image over the recording (`region_occupancy`)."""
  size = maps.albedo.shape[0]
  motion = head_motion(rng, t, knobs, size, resp)
  light = illumination(rng, t, knobs)
  pbv = PBV / PBV[1] * rng.uniform(0.9, 1.1, 3)  # relative to green
  spec_gain, gamma = float(knobs['specular']), float(knobs['gamma'])
  y, x = np.mgrid[-0.5:0.5:size * 1j, -0.5:0.5:size * 1j]
  diffuse = maps.albedo * (maps.shading * maps.alpha)[..., None]
  head = np.concatenate([diffuse, maps.alpha[..., None],
                         maps.pulse_weight[..., None], maps.specular[..., None]], -1)
  sensor_pattern = 1 + 0.01 * smooth_noise(rng, size, size // 4)[..., None]  # fixed pattern
  # Frames are computed in float32 (a camera's 8 bits need no more): the recording's
  # series and maps are cast once, so that no float64 scalar turns a frame's arrays float64.
  f32 = lambda a: np.asarray(a, np.float32)
  x, y, sensor_pattern, pbv = f32(x), f32(y), f32(sensor_pattern), f32(pbv)
  blood = f32(knobs['pulse_amp'] * np.asarray(pulse))  # relative darkening, per frame
  level, wobble, colour = f32(light['level']), f32(light['wobble']), f32(light['colour'])
  gradient = [float(g) for g in light['gradient']]
  frames = np.empty((len(t), size, size, 3), np.uint8)
  warp = Warp(head)
  for i in range(len(t)):
    w = warp(motion['tx'][i], motion['ty'][i], motion['rot'][i], motion['scale'][i])
    diffuse, alpha, pw, sp = w[..., :3], w[..., 3:4], w[..., 4:5], w[..., 5:6]
    skin = diffuse * (1 - blood[i] * pbv * pw)
    turn = float(1 + 2 * abs(motion['rot'][i]) + 0.5 * (motion['scale'][i] - 1))
    refl = skin + spec_gain * turn * sp + (1 - alpha) * maps.background
    grad = 1 + wobble[i] * (gradient[0] * x + gradient[1] * y)
    linear = refl * (level[i] * grad)[..., None] * colour[i] * sensor_pattern
    frames[i] = _camera(rng, linear, gamma, float(knobs['noise']))
  return frames, region_occupancy(maps, motion)


def _camera(rng: np.random.Generator, linear: np.ndarray, gamma: float,
            noise: float) -> np.ndarray:
  """Gamma, shot + read noise in 8-bit units, quantisation (float32 in, uint8 out)."""
  value = 255.0 * np.clip(linear, 0, 1) ** gamma
  sigma = np.sqrt(noise ** 2 + 0.02 * noise * value)
  # float64 draws, as the generator always drew them: the random stream, and with it every
  # later draw of the recording (its coding among them), stays that of earlier versions
  value = value + sigma * rng.standard_normal(value.shape).astype(np.float32)
  return np.clip(np.rint(value), 0, 255).astype(np.uint8)
