"""A face in a room: layers built once per subject, moved and lit per frame.

The face is drawn from analytic shapes on a canvas larger than the frame: an
ellipsoid head whose normals give Lambertian shading under a light from a random
direction, hair, eyes, brows, lips, a neck and clothing; skin colour from a table
of six skin types with random sinusoid texture (pores, blotches). Blood shows
where a perfusion map says (cheeks and forehead most, lips strongly, nose and
chin less), with a delay that grows from the forehead down. Per frame the face
blinks, talks (the mouth opens in bursts), sways, nods and moves with each
heartbeat (ballistocardiography), under a lamp that drifts and flickers and a
screen whose light changes colour in steps, in front of a static room.
"""

from __future__ import annotations

import dataclasses

import numpy as np

# Linear-RGB diffuse reflectance of six skin types, lightest to darkest.
SKIN_TYPES = np.array([[0.78, 0.60, 0.50], [0.70, 0.52, 0.42], [0.60, 0.43, 0.33],
                       [0.48, 0.33, 0.23], [0.34, 0.22, 0.15], [0.22, 0.14, 0.09]])
DELAY_LEVELS = 4


@dataclasses.dataclass(frozen=True)
class Layers:
  """`[P, P, ...]` maps on the padded canvas; the frame is its centre `size` x `size`."""

  albedo: np.ndarray  # [P, P, 3]
  shading: np.ndarray  # [P, P] Lambertian term of the head's light
  perfusion: np.ndarray  # [P, P] pulse strength (0 off skin)
  delay: np.ndarray  # [P, P] int, pulse delay level 0..DELAY_LEVELS-1
  specular: np.ndarray  # [P, P]
  alpha: np.ndarray  # [P, P] 1 on the person
  eyes: np.ndarray  # [P, P] eye openings
  mouth: np.ndarray  # [P, P] the mouth opening
  skin: np.ndarray  # [3] the skin's reflectance (eyelids)
  pad: int


def texture(rng: np.random.Generator, shape: tuple, waves: int, lo: float,
            hi: float) -> np.ndarray:
  """Zero-mean unit-ish noise as a sum of random plane waves with periods in [lo, hi] px."""
  y, x = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float32)
  out = np.zeros(shape, np.float32)
  for _ in range(waves):
    angle, period = rng.uniform(0, np.pi), rng.uniform(lo, hi)
    k = 2 * np.pi / period
    out += np.sin(k * (np.cos(angle) * x + np.sin(angle) * y) + rng.uniform(0, 2 * np.pi))
  return out / np.sqrt(waves / 2)


def _ellipse(x, y, cx, cy, rx, ry, soft: float = 1.0) -> np.ndarray:
  r = np.sqrt(((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2)
  return np.clip((1 - r) * min(rx, ry) / soft + 0.5, 0, 1)


def build_layers(rng: np.random.Generator, size: int, skin_type: int) -> Layers:
  pad = size // 6
  p = size + 2 * pad
  y, x = np.mgrid[0:p, 0:p].astype(np.float32)
  cx, cy = p / 2 + rng.uniform(-0.06, 0.06) * size, p / 2 + rng.uniform(-0.04, 0.08) * size
  rx, ry = size * rng.uniform(0.24, 0.33), size * rng.uniform(0.32, 0.42)
  head = _ellipse(x, y, cx, cy, rx, ry)
  # Ellipsoid normals -> Lambertian shading from a random direction in front.
  u, v = (x - cx) / rx, (y - cy) / ry
  nz = np.sqrt(np.clip(1 - u * u - v * v, 0, 1))
  light = np.array([rng.uniform(-0.6, 0.6), rng.uniform(-0.5, 0.3), 1.0])
  light /= np.linalg.norm(light)
  shading = np.clip(u * light[0] + v * light[1] + nz * light[2], 0, 1) * head
  skin = SKIN_TYPES[skin_type] * rng.uniform(0.92, 1.08, 3)
  blotch = 1 + 0.04 * texture(rng, (p, p), 12, size / 6, size / 2)[..., None]
  pores = 1 + 0.03 * texture(rng, (p, p), 30, 2.0, 5.0)[..., None]
  albedo = skin * blotch * pores * np.ones((p, p, 1), np.float32)
  # Neck and clothes below the head.
  neck = _ellipse(x, y, cx, cy + ry * 1.05, rx * 0.45, ry * 0.5) * (y > cy)
  clothes = np.clip((y - (cy + ry * 1.25)) / 2, 0, 1) * (np.abs(x - cx) < rx * 1.9)
  cloth_rgb = rng.uniform(0.05, 0.8, 3)
  albedo = np.where(clothes[..., None] > 0.5, cloth_rgb * (1 + 0.1 * texture(
      rng, (p, p), 8, 3, 12)[..., None]), albedo)
  hair = np.clip(head * ((y < cy - ry * rng.uniform(0.45, 0.7)) |
                         ((np.abs(x - cx) > rx * 0.85) & (y < cy))), 0, 1)
  hair_rgb = rng.uniform(0.02, 0.35) * np.array([1.0, 0.8, 0.6]) * rng.uniform(0.8, 1.2, 3)
  albedo = albedo * (1 - hair[..., None]) + hair_rgb * hair[..., None]
  eye_y, eye_dx = cy - ry * 0.12, rx * 0.4
  eyes = sum(_ellipse(x, y, cx + s * eye_dx, eye_y, rx * 0.17, ry * 0.07) for s in (-1, 1))
  iris = sum(_ellipse(x, y, cx + s * eye_dx, eye_y, rx * 0.07, ry * 0.07) for s in (-1, 1))
  albedo = albedo * (1 - eyes[..., None]) + eyes[..., None] * np.where(
      iris[..., None] > 0.5, rng.uniform(0.03, 0.3, 3), np.array([0.75, 0.72, 0.7]))
  brows = sum(_ellipse(x, y, cx + s * eye_dx, eye_y - ry * 0.14, rx * 0.2, ry * 0.03)
              for s in (-1, 1))
  albedo = albedo * (1 - brows[..., None]) + hair_rgb * brows[..., None]
  mouth_y = cy + ry * 0.45
  lips = _ellipse(x, y, cx, mouth_y, rx * 0.32, ry * 0.08)
  albedo = albedo * (1 - 0.5 * lips[..., None]) + 0.5 * lips[..., None] * skin * [1.1, 0.6, 0.6]
  mouth = _ellipse(x, y, cx, mouth_y, rx * 0.25, ry * 0.05)
  skin_mask = head * (1 - hair) * (1 - eyes) * (1 - brows) + neck * (1 - head)
  perfusion = skin_mask * (0.6 + 0.5 * sum(
      _ellipse(x, y, cx + s * rx * 0.5, cy + ry * 0.2, rx * 0.3, ry * 0.22, size / 8)
      for s in (-1, 1)) + 0.4 * _ellipse(x, y, cx, cy - ry * 0.5, rx * 0.6, ry * 0.25, size / 8)
      + 0.6 * lips - 0.3 * _ellipse(x, y, cx, cy + ry * 0.1, rx * 0.12, ry * 0.25))
  perfusion *= 1 + 0.15 * texture(rng, (p, p), 10, size / 10, size / 3)
  depth = np.clip((y - (cy - ry)) / (2.4 * ry), 0, 0.999)
  delay = (depth * DELAY_LEVELS).astype(np.int32)
  spec = head * (1 - hair) * np.exp(-(((x - cx - rx * 0.1) / (rx * 0.25)) ** 2 +
                                      ((y - cy + ry * 0.35) / (ry * 0.15)) ** 2))
  spec += head * np.exp(-(((x - cx) / (rx * 0.08)) ** 2 + ((y - cy - ry * 0.15) /
                                                            (ry * 0.12)) ** 2))
  alpha = np.clip(head + neck + clothes, 0, 1)
  return Layers(albedo=albedo.astype(np.float32), shading=shading.astype(np.float32),
                perfusion=np.clip(perfusion, 0, None).astype(np.float32), delay=delay,
                specular=spec.astype(np.float32), alpha=alpha.astype(np.float32),
                eyes=eyes.astype(np.float32), mouth=mouth.astype(np.float32), skin=skin,
                pad=pad)


def room(rng: np.random.Generator, size: int) -> np.ndarray:
  """A static background `[S, S, 3]`: a wall with a gradient, shelves and posters."""
  y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
  wall = rng.uniform(0.2, 0.8, 3) * (1 + rng.uniform(-0.3, 0.3) * (x - 0.5))[..., None]
  out = wall * (1 + 0.05 * texture(rng, (size, size), 6, size / 4, size)[..., None])
  for _ in range(rng.integers(1, 5)):
    x0, y0 = rng.uniform(0, 1, 2)
    w, h = rng.uniform(0.1, 0.4, 2)
    box = (np.abs(x - x0) < w / 2) & (np.abs(y - y0) < h / 2)
    out = np.where(box[..., None], rng.uniform(0.05, 0.9, 3), out)
  return out.astype(np.float32)


def shift(layers: np.ndarray, dx: float, dy: float) -> np.ndarray:
  """Translate `[P, P, C]` by (dx, dy) pixels, bilinear, edges repeated."""
  p = layers.shape[0]
  ix, fx = int(np.floor(dx)), dx - np.floor(dx)
  iy, fy = int(np.floor(dy)), dy - np.floor(dy)
  idx = lambda _, o: np.clip(np.arange(p) - o, 0, p - 1)
  a = layers[idx(p, iy)][:, idx(p, ix)]
  b = layers[idx(p, iy)][:, idx(p, ix + 1)]
  c = layers[idx(p, iy + 1)][:, idx(p, ix)]
  d = layers[idx(p, iy + 1)][:, idx(p, ix + 1)]
  return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy
