"""Face boxes over a video: detect every few frames, enlarge, fill gaps, smooth in time.

Two detectors: OpenCV's frontal-face Haar cascade (the default and light
fallback; its model file ships inside the `opencv-python-headless` wheel) and
MediaPipe's FaceMesh (`face_mesh.py`: 468 landmarks, from which the skin regions
come; its models ship inside the mediapipe wheel). Nothing is downloaded. A
detection's box is enlarged about its centre (1.5x, as rPPG-Toolbox does) to a
square that takes in the forehead and cheeks; boxes between detections are
interpolated and smoothed over about a second, so the crop follows the head
without jittering from one detection to the next.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import functools
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

import numpy as np

from hrjax.data import yuv

Box = tuple[int, int, int, int]  # top, left, height, width (pixels of the full frame)
DETECTORS = ('haar', 'mediapipe')


class Face(NamedTuple):
  """A detection: centre and side of the face (Haar's convention), and its landmarks
  `float32 [L, 2]` (x, y) where the detector gives them; all in the frame's pixels."""

  cy: float
  cx: float
  side: float
  landmarks: np.ndarray | None = None

  def scaled(self, k: float) -> 'Face':
    return Face(self.cy * k, self.cx * k, self.side * k,
                None if self.landmarks is None else self.landmarks * k)


@dataclasses.dataclass(frozen=True)
class FaceSettings:
  every: int = 10  # detect on every N-th frame
  scale: float = 1.5  # side of the crop square / larger side of the detected face
  detect_width: int = 320  # frames are shrunk to this width for detection
  smooth_s: float = 1.0  # centred moving-average window over detections, seconds
  min_face: float = 0.08  # smallest face side accepted, as a share of the frame width
  detector: str = 'haar'  # one of DETECTORS
  face_python: str = ''  # detector='mediapipe': the helper's Python ('': face_mesh.default_python)

  @property
  def width(self) -> int:
    """Frames are shrunk to this width for the detector (FaceMesh keeps more pixels: its
    landmarks are placed on a 192-pixel crop of the face)."""
    return self.detect_width if self.detector == 'haar' else 2 * self.detect_width


@functools.cache
def haar_cascade():
  import cv2  # imported here: only face cropping needs OpenCV
  cascade = cv2.CascadeClassifier(cv2.data.haarcascades + 'haarcascade_frontalface_default.xml')
  if cascade.empty():
    raise RuntimeError('OpenCV could not load its frontal-face Haar cascade from its own wheel')
  return cascade


# The search near the last face (a third of a second before at 30 fps and every 10th frame):
# how far its square reaches, and the range of sizes. `scripts/face_crop_costs.py` times it;
# docs/transfer/near-square-2026-12-06.md scores ubfc-dev's crops by the square's size.
NEAR_SQUARE = 2.0  # face sides
NEAR_SIZES = 1.18  # from side / 1.18 to side x 1.18


def detect_largest_face(frame: np.ndarray, min_face: float,
                        near: tuple[float, float, float] | None = None,
                        ) -> Face | None:
  """The largest frontal face in an RGB frame or a grey one (luma) (Haar; no landmarks), or
  None.

  `near`: the previous detection (same pixels). The search then looks first in a
  square of NEAR_SQUARE face sides around it, for faces within NEAR_SIZES times its
  side: a few small pyramid levels instead of the whole frame's (a tenth of the time on
  ubfc-dev). The whole frame is searched when that finds nothing.
  """
  import cv2
  frame = np.ascontiguousarray(frame)
  gray = cv2.equalizeHist(frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY))
  if near is not None:
    cy, cx, side = near
    half = NEAR_SQUARE / 2 * side
    top, left = max(0, int(cy - half)), max(0, int(cx - half))
    roi = gray[top:int(cy + half) + 1, left:int(cx + half) + 1]
    lo, hi = max(12, int(side / NEAR_SIZES)), int(side * NEAR_SIZES) + 1
    if min(roi.shape) >= lo:
      hit = _largest(haar_cascade().detectMultiScale(
          roi, scaleFactor=1.1, minNeighbors=5, minSize=(lo, lo), maxSize=(hi, hi)))
      if hit is not None:
        return Face(hit.cy + top, hit.cx + left, hit.side)
  smallest = max(12, int(min_face * frame.shape[1]))
  return _largest(haar_cascade().detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5,
                                                  minSize=(smallest, smallest)))


def _largest(found) -> Face | None:
  if len(found) == 0:
    return None
  x, y, w, h = max(found, key=lambda b: b[2] * b[3])
  return Face(y + h / 2, x + w / 2, float(max(w, h)))


def check_detector(s: FaceSettings) -> None:
  """Fail before any work when the settings' detector is unknown or cannot run here."""
  if s.detector not in DETECTORS:
    raise ValueError(f"face detector must be one of {', '.join(DETECTORS)}, got {s.detector!r}")
  if s.detector == 'mediapipe':
    from hrjax.data import face_mesh
    face_mesh.check_python(s.face_python)


@contextlib.contextmanager
def detector(s: FaceSettings) -> Iterator[Callable]:
  """The settings' detector, `(frame, min_face, near) -> Face | None`, for the duration of a
  video (FaceMesh runs in a helper process, closed on leaving)."""
  if s.detector == 'haar':
    yield detect_largest_face
  elif s.detector == 'mediapipe':
    from hrjax.data import face_mesh
    with face_mesh.FaceMesh(s.face_python) as mesh:
      yield mesh
  else:
    check_detector(s)


def _moving_average(x: np.ndarray, width: int) -> np.ndarray:
  if width <= 1 or len(x) < 2:
    return x
  pad = width // 2
  padded = np.pad(x, (pad, pad), mode='edge')
  return np.convolve(padded, np.ones(2 * pad + 1) / (2 * pad + 1), mode='valid')


def detection_image(frame: np.ndarray | yuv.Yuv420, detector: str) -> np.ndarray:
  """What a detector looks at: an RGB frame as it is; a video's planes as their luma for
  Haar, which sees grey levels only, and as RGB for FaceMesh."""
  if not isinstance(frame, yuv.Yuv420):
    return frame
  return frame.y if detector == 'haar' else frame.rgb()


def shrink_for_detection(frame: np.ndarray, width: int) -> np.ndarray:
  """An area-resized copy at most `width` pixels wide (even height): the detector needs no
  more, and its cost grows with the pixels."""
  if frame.shape[1] <= width:
    return frame
  import cv2
  height = 2 * round(frame.shape[0] * width / frame.shape[1] / 2)
  return cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)


class FaceTracker:
  """Detections on every `s.every`-th frame as frames stream in, and the boxes they give.

  A frame's box depends on detections up to about a second after it (smoothing,
  and interpolation across a gap to the next detection). `settled` is how many
  leading frames have boxes that no later detection can change: a caller may
  crop those and let them go, so a face crop needs one decoding pass and a short
  buffer, not the whole video in memory. Boxes of settled frames equal those of
  the whole video's detections (the tests check it).
  """

  def __init__(self, frame_hw: tuple[int, int], fps: float, s: FaceSettings,
               detect: Callable = detect_largest_face):
    self.frame_hw, self.s, self.detect = frame_hw, s, detect
    self.smooth = max(1, int(round(s.smooth_s * (fps or 30.0) / s.every)))
    self.index: list[int] = []  # sampled frames, in order
    self.found: list[tuple[float, float, float] | None] = []  # their detections (full pixels)
    self.landmarks: list[np.ndarray | None] = []  # the detections' landmarks, where given
    self.count = 0  # frames seen
    self._last_hit = -1  # index into self.index of the latest detection with a face
    self._near: tuple[float, float, float] | None = None  # the face the next search starts at

  def see(self, frame: np.ndarray | yuv.Yuv420) -> None:
    """The next frame (full size, RGB or a video's planes), detected on here if sampled."""
    if self.sample():
      self.record(self.detect_on(frame))

  def sample(self) -> bool:
    """Count the next frame; True when it is one to detect on (every `s.every`-th). Its
    detection, `detect_on`, may run in another thread; `record` its result in frame order."""
    i, self.count = self.count, self.count + 1
    return i % self.s.every == 0

  def detect_on(self, frame: np.ndarray | yuv.Yuv420) -> Face | None:
    """The face in a sampled frame (full-frame pixels), searched near the last one found.
    Sampled frames must come here in order (the search depends on the one before)."""
    small = shrink_for_detection(detection_image(frame, self.s.detector), self.s.width)
    k = self.frame_hw[1] / small.shape[1]  # back to full-frame pixels
    near = None if self._near is None else tuple(v / k for v in self._near)
    hit = self.detect(small, self.s.min_face, near)
    if hit is None:
      return None
    hit = Face(*hit).scaled(k)
    self._near = (hit.cy, hit.cx, hit.side)
    return hit

  def record(self, hit: Face | None) -> None:
    """The detection of the earliest sampled frame not yet recorded."""
    if hit is not None:
      self._last_hit = len(self.index)
    self.index.append(len(self.index) * self.s.every)  # the k-th sampled frame
    self.found.append(None if hit is None else (hit.cy, hit.cx, hit.side))
    self.landmarks.append(None if hit is None else hit.landmarks)

  @property
  def share(self) -> float:
    """Share of the sampled frames with a face."""
    return float(np.mean([f is not None for f in self.found])) if self.found else 0.0

  @property
  def settled(self) -> int:
    """Frames [0, settled) have their final boxes: their smoothing window and the gaps in it
    end at or before the latest detection with a face."""
    if self._last_hit < 0:
      return 0
    lead = (self.smooth // 2) * self.s.every
    return max(0, min(self.count, self.index[self._last_hit] - lead + 1))

  def boxes(self, first: int, stop: int) -> np.ndarray | None:
    """Square boxes `int [stop - first, 4]` (top, left, side, side) of frames [first, stop),
    final for frames before `settled` or once every frame was seen; None without any face."""
    if self._last_hit < 0:
      return None
    # Only detections from the last face at or before the earliest sample that frame `first`
    # depends on matter: earlier ones cannot reach it (this keeps each call short).
    earliest = (first // self.s.every - self.smooth // 2) * self.s.every
    j = bisect.bisect_right(self.index, earliest) - 1
    while j > 0 and self.found[j] is None:
      j -= 1
    index = np.array(self.index[max(j, 0):])
    found = self.found[max(j, 0):]
    hits = np.array([f is not None for f in found])
    faces = np.array([f for f in found if f is not None])
    # Gaps (a turned head, a hand) take the neighbouring detections' box.
    track = np.stack([np.interp(index, index[hits], faces[:, k]) for k in range(3)], -1)
    track = np.stack([_moving_average(track[:, k], self.smooth) for k in range(3)], -1)
    frames = np.arange(first, stop)
    cy, cx, face = (np.interp(frames, index, track[:, k]) for k in range(3))
    height, width_px = self.frame_hw
    side = np.minimum(np.rint(face * self.s.scale), min(height, width_px)).astype(int)
    top = np.clip(np.rint(cy - side / 2).astype(int), 0, height - side)
    left = np.clip(np.rint(cx - side / 2).astype(int), 0, width_px - side)
    return np.stack([top, left, side, side], -1)


@dataclasses.dataclass(frozen=True)
class Landmarks:
  """The landmarks of the sampled frames with a face, and the crop box each frame got."""

  frames: np.ndarray  # int [K]: the frames' indices in the video
  points: np.ndarray  # float32 [K, L, 2]: (x, y) in the full frame's pixels
  boxes: np.ndarray  # int [K, 4]: the frames' crop boxes (top, left, side, side)

  @classmethod
  def of(cls, tracker: 'FaceTracker', boxes: np.ndarray | None) -> 'Landmarks | None':
    """A tracker's landmarks (None where its detector gives none or it found no face)."""
    have = [j for j, p in enumerate(tracker.landmarks) if p is not None]
    if not have or boxes is None:
      return None
    frames = np.array([tracker.index[j] for j in have])
    return cls(frames, np.stack([tracker.landmarks[j] for j in have]), boxes[frames])


def track_faces(frames: Iterable[np.ndarray], frame_hw: tuple[int, int], fps: float,
                s: FaceSettings, detect: Callable = detect_largest_face,
                ) -> tuple[np.ndarray | None, float, int]:
  """Every frame's box (None without any face), the share of sampled frames with a face,
  and the number of frames: `FaceTracker` over a whole video at once."""
  tracker = FaceTracker(frame_hw, fps, s, detect)
  for frame in frames:
    tracker.see(frame)
  return tracker.boxes(0, tracker.count), tracker.share, tracker.count
