"""Skin regions of a real face from its FaceMesh landmarks: the region maps of `regions.py`.

Each region is a polygon through landmarks of MediaPipe's 468-point mesh (indices
from its published topology: the face oval, eye, eyebrow and lip contours, the
nose's sides): forehead from the brows up to the oval's top; each cheek from
under the eye to the mouth corner, between the nose and the oval; the nose; chin
and jaw below the mouth corners; the rest of the oval other skin. Eyes, brows and
lips are non-skin, and so is everything outside the oval (the neck and ears too:
the mesh stops at the jaw). Left is the image's left.

A frame's labels are drawn in its crop box at four times the clip's resolution and
area-averaged down, so a map holds each pixel's share of each region; a clip's
map is the mean over its sampled frames, as the generator's maps are over time.
"""

from __future__ import annotations

import functools

import numpy as np

from hrjax.data import regions

OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
        377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
FOREHEAD = (162, 21, 54, 103, 67, 109, 10, 338, 297, 332, 284, 251, 389,  # the oval's top
            300, 293, 334, 296, 336, 9, 107, 66, 105, 63, 70)  # back along the brows' tops
# The image's left cheek (the person's right): under the eye's lower lid, along the oval
# down to the jaw, to the mouth corner, and up the nose's side.
LEFT_CHEEK = (133, 155, 154, 153, 145, 144, 163, 7, 33, 127, 234, 93, 132, 58, 61, 98, 64,
              48, 49, 209, 217, 174, 188, 245)
RIGHT_CHEEK = (362, 382, 381, 380, 374, 373, 390, 249, 263, 356, 454, 323, 361, 288, 291, 327,
               294, 278, 279, 429, 437, 399, 412, 465)
# From between the eyes down both sides to the nostrils and below the tip.
NOSE = (168, 193, 245, 188, 174, 217, 209, 49, 48, 64, 98, 97, 2, 326, 327, 294, 278, 279, 429,
        437, 399, 412, 465, 417)
CHIN_JAW = (58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288, 291,
            17, 61)
NOT_SKIN = (
    (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246),  # eyes
    (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466),
    (70, 63, 105, 66, 107, 55, 65, 52, 53, 46),  # brows
    (300, 293, 334, 296, 336, 285, 295, 282, 283, 276),
    (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91,
     146),  # lips
)
# Drawn in this order, each over the last.
POLYGONS = ((OVAL, regions.OTHER_SKIN), (FOREHEAD, regions.FOREHEAD),
            (LEFT_CHEEK, regions.LEFT_CHEEK), (RIGHT_CHEEK, regions.RIGHT_CHEEK),
            (CHIN_JAW, regions.CHIN_JAW), (NOSE, regions.NOSE),
            *((p, regions.NON_SKIN) for p in NOT_SKIN))
SUPERSAMPLE = 4


def label_image(points: np.ndarray, size: int) -> np.ndarray:
  """`int8 [size, size]` region labels of landmarks `[468, 2]` given in the image's pixels;
  the oval is intersected with every region, so nothing outside it is skin."""
  import cv2
  labels = np.full((size, size), regions.NON_SKIN, np.int8)
  oval = np.zeros((size, size), np.uint8)
  cv2.fillPoly(oval, [_polygon(points, OVAL)], 1)
  for indices, label in POLYGONS:
    cv2.fillPoly(labels, [_polygon(points, indices)], int(label))
  labels[oval == 0] = regions.NON_SKIN
  return labels


def _polygon(points: np.ndarray, indices: tuple[int, ...]) -> np.ndarray:
  return np.rint(points[list(indices)]).astype(np.int32).reshape(-1, 1, 2)


def frame_map(points: np.ndarray, box: tuple[int, int, int, int], size: int) -> np.ndarray:
  """`float32 [size, size, R]`: each pixel's share of each region in a `size`-pixel crop of
  the box (top, left, side, side), from the frame's landmarks (full-frame pixels)."""
  top, left, side = box[0], box[1], box[2]
  fine = size * SUPERSAMPLE
  labels = label_image((points - np.array([left, top], np.float32)) * (fine / side), fine)
  onehot = labels[..., None] == np.arange(len(regions.REGION_NAMES))
  return onehot.reshape(size, SUPERSAMPLE, size, SUPERSAMPLE, -1).mean((1, 3), np.float32)


def clip_maps(landmarks, frame_times: np.ndarray, clip_spans: list[tuple[float, float]],
              size: int) -> np.ndarray:
  """`float16 [N, size, size, R]`: per clip the mean map of the sampled frames in its time span
  (first to last frame time, seconds), or of the nearest one where none falls inside.

  `landmarks`: a `face.Landmarks` (sampled frames, points, boxes); `frame_times`: every
  decoded frame's time.
  """
  at = frame_times[landmarks.frames]
  drawn = functools.lru_cache(maxsize=256)(
      lambda k: frame_map(landmarks.points[k], tuple(landmarks.boxes[k]), size))
  maps = []
  for lo, hi in clip_spans:
    inside = np.flatnonzero((at >= lo) & (at <= hi))
    if len(inside) == 0:
      inside = [int(np.argmin(np.abs(at - (lo + hi) / 2)))]
    maps.append(sum(drawn(int(k)) for k in inside) / len(inside))
  return np.stack(maps).astype(np.float16)
