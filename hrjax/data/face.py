"""Face boxes over a video: detect every few frames, enlarge, fill gaps, smooth in time.

The detector is OpenCV's frontal-face Haar cascade, whose model file ships
inside the `opencv-python-headless` 4.x wheel (nothing is downloaded). A
detection's box is enlarged about its centre (1.5x, as rPPG-Toolbox does) to a
square that takes in the forehead and cheeks; boxes between detections are
interpolated and smoothed over about a second, so the crop follows the head
without jittering from one detection to the next.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable

import numpy as np

Box = tuple[int, int, int, int]  # top, left, height, width (pixels of the full frame)


@dataclasses.dataclass(frozen=True)
class FaceSettings:
  every: int = 10  # detect on every N-th frame
  scale: float = 1.5  # side of the crop square / larger side of the detected face
  detect_width: int = 320  # frames are shrunk to this width for detection
  smooth_s: float = 1.0  # centred moving-average window over detections, seconds
  min_face: float = 0.08  # smallest face side accepted, as a share of the frame width


@functools.cache
def haar_cascade():
  import cv2  # imported here: only face cropping needs OpenCV
  cascade = cv2.CascadeClassifier(cv2.data.haarcascades + 'haarcascade_frontalface_default.xml')
  if cascade.empty():
    raise RuntimeError('OpenCV could not load its frontal-face Haar cascade from its own wheel')
  return cascade


def detect_largest_face(frame: np.ndarray, min_face: float) -> tuple[float, float, float] | None:
  """(centre row, centre column, side) of the largest frontal face in an RGB frame, or None."""
  import cv2
  gray = cv2.equalizeHist(cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY))
  smallest = max(12, int(min_face * frame.shape[1]))
  found = haar_cascade().detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5,
                                          minSize=(smallest, smallest))
  if len(found) == 0:
    return None
  x, y, w, h = max(found, key=lambda b: b[2] * b[3])
  return y + h / 2, x + w / 2, float(max(w, h))


def _moving_average(x: np.ndarray, width: int) -> np.ndarray:
  if width <= 1 or len(x) < 2:
    return x
  pad = width // 2
  padded = np.pad(x, (pad, pad), mode='edge')
  return np.convolve(padded, np.ones(2 * pad + 1) / (2 * pad + 1), mode='valid')


def boxes_from_detections(detections: dict[int, tuple[float, float, float] | None],
                          num_frames: int, frame_hw: tuple[int, int], fps: float,
                          s: FaceSettings) -> np.ndarray | None:
  """Per-frame square boxes `int [F, 4]` (top, left, side, side) from sparse detections.

  `detections` maps a frame index to (centre row, centre column, side) in full-
  frame pixels, or None where no face was found. Returns None when no frame had one.
  """
  index = np.array(sorted(detections))
  hits = np.array([detections[i] is not None for i in index])
  if not hits.any():
    return None
  found = np.array([detections[i] for i in index[hits]])
  # Gaps (a turned head, a hand) take the neighbouring detections' box.
  track = np.stack([np.interp(index, index[hits], found[:, k]) for k in range(3)], -1)
  width = max(1, int(round(s.smooth_s * (fps or 30.0) / s.every)))
  track = np.stack([_moving_average(track[:, k], width) for k in range(3)], -1)
  frames = np.arange(num_frames)
  cy, cx, face = (np.interp(frames, index, track[:, k]) for k in range(3))
  height, width_px = frame_hw
  side = np.minimum(np.rint(face * s.scale), min(height, width_px)).astype(int)
  top = np.clip(np.rint(cy - side / 2).astype(int), 0, height - side)
  left = np.clip(np.rint(cx - side / 2).astype(int), 0, width_px - side)
  return np.stack([top, left, side, side], -1)


def track_faces(frames: Iterable[np.ndarray], frame_hw: tuple[int, int], fps: float,
                s: FaceSettings,
                detect: Callable[[np.ndarray, float], tuple | None] = detect_largest_face,
                ) -> tuple[np.ndarray | None, float, int]:
  """Detect on every `s.every`-th of `frames` (possibly shrunk copies of the video).

  Returns (per-frame boxes in full-frame pixels or None, share of sampled
  frames with a face, number of frames seen).
  """
  detections = {}
  count = 0
  for i, frame in enumerate(frames):
    count = i + 1
    if i % s.every:
      continue
    hit = detect(frame, s.min_face)
    if hit is not None:
      k = frame_hw[1] / frame.shape[1]  # back to full-frame pixels
      hit = (hit[0] * k, hit[1] * k, hit[2] * k)
    detections[i] = hit
  if not detections:
    return None, 0.0, 0
  share = float(np.mean([d is not None for d in detections.values()]))
  return boxes_from_detections(detections, count, frame_hw, fps, s), share, count
