"""Procedural faces: reflectance maps in the face's own coordinate frame.

Every map is `[S, S]` or `[S, S, 3]` over face coordinates (u, v) in [-1, 1]
(u to the right of the image, v downwards). The renderer warps them with the
head's motion each frame; the background stays fixed in the image.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from hrjax.data.regions import (
  CHIN_JAW,
  FOREHEAD,
  LEFT_CHEEK,
  NON_SKIN,
  NOSE,
  OTHER_SKIN,
  RIGHT_CHEEK,
)

# Linear skin reflectance at the two ends of the melanin range (light, dark).
_LIGHT_SKIN = np.array([0.80, 0.58, 0.47])
_DARK_SKIN = np.array([0.26, 0.15, 0.10])


@dataclasses.dataclass(frozen=True)
class FaceMaps:
  albedo: np.ndarray  # [S, S, 3] linear reflectance of the head (skin, eyes, hair...)
  alpha: np.ndarray  # [S, S] head coverage, soft edge
  pulse_weight: np.ndarray  # [S, S] where and how strongly blood volume shows
  shading: np.ndarray  # [S, S] diffuse shading of the head's 3-D shape
  specular: np.ndarray  # [S, S] specular lobe (surface reflection: carries no pulse)
  regions: np.ndarray  # [S, S] int8 region label
  background: np.ndarray  # [S, S, 3] static scene behind the head


def smooth_noise(rng: np.random.Generator, size: int, scale: int) -> np.ndarray:
  """Band-limited noise in [-1, 1]: a coarse random grid, bilinearly upsampled."""
  coarse = rng.uniform(-1, 1, (scale + 1, scale + 1))
  x = np.linspace(0, scale, size)
  i = np.minimum(x.astype(int), scale - 1)
  f = x - i
  rows = coarse[i] * (1 - f)[:, None] + coarse[i + 1] * f[:, None]
  return rows[:, i] * (1 - f) + rows[:, i + 1] * f


def skin_albedo(melanin: float, rng: np.random.Generator) -> np.ndarray:
  """Linear RGB reflectance for a melanin fraction in [0, 1], with a small hue jitter."""
  base = (1 - melanin) * _LIGHT_SKIN + melanin * _DARK_SKIN
  return base * rng.uniform(0.92, 1.08, 3)


def _ellipse(u, v, cu, cv, ru, rv):
  return ((u - cu) / ru) ** 2 + ((v - cv) / rv) ** 2


def _soft(d, edge=0.08):
  """Soft inside-mask from an ellipse distance (1 inside, 0 outside)."""
  return np.clip((1 - d) / edge, 0, 1)


@dataclasses.dataclass(frozen=True)
class _Head:
  """Face coordinates `u, v` (`[S, S]` each), the face ellipse (centre, radii) and where the
  eyes and mouth sit."""

  u: np.ndarray
  v: np.ndarray
  cu: float
  cv: float
  ru: float
  rv: float
  hairline: float = 0.0
  eye_v: float = 0.0
  eye_du: float = 0.0
  mouth_v: float = 0.0


class _Canvas:
  """Albedo being painted, and the share of each pixel that is still bare skin."""

  def __init__(self, albedo: np.ndarray, skin_mask: np.ndarray):
    self.albedo, self.skin_mask = albedo, skin_mask

  def paint(self, mask: np.ndarray, colour) -> None:
    self.albedo = self.albedo * (1 - mask[..., None]) + np.asarray(colour) * mask[..., None]
    self.skin_mask = self.skin_mask * (1 - mask)


def render_face_maps(rng: np.random.Generator, size: int, melanin: float,
                     pulse_regions: str = 'all') -> FaceMaps:
  """Draw one subject's head: skin with face features, hair, shading, background."""
  v, u = np.mgrid[-1:1:size * 1j, -1:1:size * 1j]
  ru, rv = rng.uniform(0.48, 0.6), rng.uniform(0.62, 0.75)
  cu, cv = rng.uniform(-0.05, 0.05), rng.uniform(0.0, 0.1)
  head = _Head(u, v, cu, cv, ru, rv)
  d_face = _ellipse(u, v, cu, cv, ru, rv)
  face = _soft(d_face)
  skin = skin_albedo(melanin, rng)
  canvas, hair, head = _paint_features(rng, head, skin, face)
  regions = _region_labels(head, canvas.skin_mask)
  pulse_weight = _pulse_weight(rng, canvas.skin_mask, regions, pulse_regions)
  shading, specular = _shading(rng, head, d_face, face, regions)
  background = _background(rng, size)
  head_alpha = np.maximum(face, hair)
  return FaceMaps(albedo=canvas.albedo.astype(np.float32), alpha=head_alpha.astype(np.float32),
                  pulse_weight=pulse_weight.astype(np.float32),
                  shading=shading.astype(np.float32), specular=specular.astype(np.float32),
                  regions=regions, background=background.astype(np.float32))


def _paint_features(rng: np.random.Generator, head: _Head, skin: np.ndarray,
                    face: np.ndarray) -> tuple[_Canvas, np.ndarray, _Head]:
  """Mottled skin, hair, eyes and brows, mouth, sometimes glasses: the canvas, the hair's
  mask and the head with its features placed."""
  u, v, cu, cv, ru, rv = head.u, head.v, head.cu, head.cv, head.ru, head.rv
  size = u.shape[0]
  mottle = 1 + 0.06 * smooth_noise(rng, size, 6)[..., None] + 0.03 * smooth_noise(rng, size, 20)[
      ..., None]
  canvas = _Canvas(skin * mottle * np.ones((size, size, 3)), face.copy())
  # Hair: a cap over the top of the head, sometimes a fringe.
  hair_colour = rng.uniform(0.02, 0.25) * np.array([1.0, 0.8, 0.6]) * rng.uniform(0.8, 1.2, 3)
  hairline = cv - rv * rng.uniform(0.55, 0.8)
  hair = _soft(_ellipse(u, v, cu, cv - 0.05, ru * 1.12, rv * 1.1)) * np.clip(
      (hairline - v) / 0.05, 0, 1)
  canvas.paint(hair, hair_colour)
  eye_v = cv - rv * rng.uniform(0.1, 0.25)
  eye_du = ru * rng.uniform(0.35, 0.45)
  for side in (-1, 1):
    eu = cu + side * eye_du
    canvas.paint(_soft(_ellipse(u, v, eu, eye_v, 0.11, 0.045), 0.3), [0.75, 0.72, 0.7])
    canvas.paint(_soft(_ellipse(u, v, eu, eye_v, 0.045, 0.045), 0.3), hair_colour * 0.6)
    canvas.paint(_soft(_ellipse(u, v, eu, eye_v - 0.1, 0.13, 0.025), 0.3), hair_colour)
  mouth_v = cv + rv * rng.uniform(0.45, 0.6)
  canvas.paint(_soft(_ellipse(u, v, cu, mouth_v, ru * 0.35, 0.04), 0.3),
               skin * np.array([1.05, 0.7, 0.7]))
  if rng.random() < 0.3:  # glasses frames: non-skin, specular
    for side in (-1, 1):
      ring = np.abs(_ellipse(u, v, cu + side * eye_du, eye_v, 0.17, 0.12) - 1) < 0.15
      canvas.paint(ring.astype(float), [0.05, 0.05, 0.05])
  placed = dataclasses.replace(head, hairline=hairline, eye_v=eye_v, eye_du=eye_du,
                               mouth_v=mouth_v)
  return canvas, hair, placed


def _region_labels(head: _Head, skin_mask: np.ndarray) -> np.ndarray:
  """`int8 [S, S]`: forehead, cheeks, nose, chin and jaw on bare skin, other skin, the rest
  non-skin (labels only: the pulse's strength follows forehead and cheeks)."""
  u, v, cu, ru = head.u, head.v, head.cu, head.ru
  regions = np.where(skin_mask > 0.5, OTHER_SKIN, NON_SKIN).astype(np.int8)
  forehead = (v < head.eye_v - 0.15) & (v > head.hairline + 0.03) & (np.abs(u - cu) < ru * 0.6)
  cheek_v = (v > head.eye_v + 0.1) & (v < head.mouth_v - 0.05)
  left = cheek_v & (u < cu - ru * 0.2) & (u > cu - ru * 0.85)
  right = cheek_v & (u > cu + ru * 0.2) & (u < cu + ru * 0.85)
  nose = (np.abs(u - cu) < ru * 0.15) & (v > head.eye_v + 0.05) & (v < head.mouth_v - 0.08)
  chin_jaw = v > head.mouth_v + 0.06
  for mask, label in ((forehead, FOREHEAD), (left, LEFT_CHEEK), (right, RIGHT_CHEEK),
                      (nose, NOSE), (chin_jaw, CHIN_JAW)):
    regions[mask & (skin_mask > 0.5)] = label
  return regions


def _pulse_weight(rng: np.random.Generator, skin_mask: np.ndarray, regions: np.ndarray,
                  pulse_regions: str) -> np.ndarray:
  """Where blood shows: more on cheeks and forehead, less elsewhere; patchy."""
  strength = 0.7 + 0.15 * smooth_noise(rng, skin_mask.shape[0], 5)
  strength[np.isin(regions, (FOREHEAD, LEFT_CHEEK, RIGHT_CHEEK))] *= 1.3
  pulse_weight = skin_mask * strength
  if pulse_regions == 'cheeks':
    pulse_weight = pulse_weight * np.isin(regions, (LEFT_CHEEK, RIGHT_CHEEK))
  elif pulse_regions != 'all':
    raise ValueError(f"pulse_regions must be 'all' or 'cheeks', got {pulse_regions!r}")
  return pulse_weight


def _shading(rng: np.random.Generator, head: _Head, d_face: np.ndarray, face: np.ndarray,
             regions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Diffuse shading and a specular lobe of an ellipsoid lit from a random direction (both
  move with the head)."""
  nz = np.sqrt(np.clip(1 - d_face, 0, 1))
  nu, nv = (head.u - head.cu) / head.ru, (head.v - head.cv) / head.rv
  light = rng.normal(0, 0.4, 3) + np.array([0, 0, 1.0])
  light /= np.linalg.norm(light)
  lambert = np.clip(nu * light[0] + nv * light[1] + nz * light[2], 0, 1)
  ambient = rng.uniform(0.25, 0.45)
  shading = ambient + (1 - ambient) * lambert
  half = light + np.array([0, 0, 1.0])
  half /= np.linalg.norm(half)
  spec = np.clip(nu * half[0] + nv * half[1] + nz * half[2], 0, 1) ** rng.uniform(20, 60)
  return shading, spec * face * (0.5 + 0.5 * (regions != NON_SKIN))


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
  """A wall or room: a colour gradient with texture and a few rectangles."""
  v, u = np.mgrid[0:1:size * 1j, 0:1:size * 1j]
  c0, c1 = rng.uniform(0.1, 0.8, 3), rng.uniform(0.1, 0.8, 3)
  g = np.clip(u * rng.uniform(-1, 1) + v * rng.uniform(-1, 1), -1, 1)[..., None] * 0.5 + 0.5
  bg = c0 * (1 - g) + c1 * g
  bg *= 1 + 0.1 * smooth_noise(rng, size, 8)[..., None]
  for _ in range(rng.integers(0, 4)):
    y0, x0 = rng.integers(0, size, 2)
    h, w = rng.integers(size // 10, size // 2, 2)
    bg[y0:y0 + h, x0:x0 + w] = rng.uniform(0.05, 0.9, 3)
  return np.clip(bg, 0.02, 1.0)
