"""MediaPipe's FaceMesh as a face detector: 468 landmarks per frame, from a helper process.

mediapipe 0.10.14 is the last wheel that holds its models (BlazeFace and the
FaceMesh landmarker; later wheels take model files downloaded apart) and it
requires protobuf < 5, which grain's >= 5.28 rules out in hrjax's environment. So
it lives in a virtualenv of its own (`make faces`: `.venv-faces`) and
`face_mesh_helper.py` runs there, answering frames sent down a pipe with
landmarks. Each video gets its own helper (FaceMesh tracks the face from one
frame to the next).
"""

from __future__ import annotations

import os
import struct
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from hrjax.data.face import Face
from hrjax.errors import HelperError

HELPER = Path(__file__).with_name('face_mesh_helper.py')
REPO = Path(__file__).resolve().parents[2]
# The face's side from the landmarks' extent (forehead to chin): 1.1 times it gives crops
# of the Haar cascade's size on ubfc-dev (scripts/compare_detectors.py's crop side), so
# `face_scale` means the same crop for both detectors.
SIDE_PER_EXTENT = 1.1


def default_python() -> str:
  """$HRJAX_FACE_PYTHON, else the repository's `.venv-faces` (made by `make faces`)."""
  return os.environ.get('HRJAX_FACE_PYTHON') or str(REPO / '.venv-faces' / 'bin' / 'python')


def check_python(python: str = '') -> str:
  """The helper's Python (`python` or the default); FileNotFoundError saying how to make it."""
  python = python or default_python()
  if not Path(python).is_file():
    raise FileNotFoundError(
        f'{python}: no Python for the MediaPipe face detector; make faces makes .venv-faces '
        'with mediapipe 0.10.14 (a virtualenv of its own: it needs protobuf < 5), or name one '
        'with --face_python or $HRJAX_FACE_PYTHON')
  return python


def face_from_landmarks(points: np.ndarray, min_side: float) -> Face | None:
  """A detection from landmarks `[L, 2]`: their extent's centre, 1.1 times its larger side."""
  lo, hi = points.min(0), points.max(0)
  side = SIDE_PER_EXTENT * float(max(hi - lo))
  if side < min_side:
    return None
  cx, cy = (lo + hi) / 2
  return Face(float(cy), float(cx), side, points)


class FaceMesh:
  """`(frame, min_face, near) -> Face | None` through a helper process; a context manager.

  `near` is not needed: FaceMesh follows the face from its previous landmarks itself.
  """

  def __init__(self, python: str = ''):
    self.python = check_python(python)
    self._log = tempfile.TemporaryFile()
    self._proc = subprocess.Popen([self.python, str(HELPER)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=self._log)
    if self._proc.stdout.readline() != b'ready\n':
      self._fail('did not start')

  def __call__(self, frame: np.ndarray, min_face: float, near=None) -> Face | None:
    height, width = frame.shape[:2]
    try:
      self._proc.stdin.write(struct.pack('<II', height, width))
      self._proc.stdin.write(np.ascontiguousarray(frame, np.uint8).data)
      self._proc.stdin.flush()
      (count,) = struct.unpack('<I', self._read(4))
    except (BrokenPipeError, struct.error):
      self._fail('stopped')
    if count == 0:
      return None
    points = np.frombuffer(self._read(8 * count), '<f4').reshape(count, 2).astype(np.float32)
    return face_from_landmarks(points, min_face * width)

  def _read(self, n: int) -> bytes:
    data = self._proc.stdout.read(n)
    if len(data) != n:
      self._fail('stopped')
    return data

  def _fail(self, what: str):
    self._proc.kill()
    self._proc.wait()
    self._log.seek(0)
    lines = self._log.read().decode(errors='replace').strip().splitlines()
    raise HelperError(f'the MediaPipe helper ({self.python} {HELPER.name}) {what}: '
                      + (lines[-1].strip() if lines else 'no output'))

  def close(self) -> None:
    if self._proc.poll() is None:
      try:
        self._proc.stdin.write(struct.pack('<II', 0, 0))
        self._proc.stdin.close()
      except BrokenPipeError:
        pass
      self._proc.wait(timeout=30)
    self._log.close()

  def __enter__(self) -> 'FaceMesh':
    return self

  def __exit__(self, *exc) -> None:
    self.close()
