"""Frame geometry for extraction: a crop box (a centred square) and area resize to S x S."""

from __future__ import annotations

import numpy as np

CROPS = ('face', 'center', 'none')  # a detected face, a centred square, the whole frame


def area_matrix(n_in: int, n_out: int) -> np.ndarray:
  """`[n_out, n_in]` weights that average each output cell's share of the input (area resize)."""
  edges = np.linspace(0, n_in, n_out + 1)
  lo, hi = edges[:-1, None], edges[1:, None]
  pix = np.arange(n_in)[None, :]
  overlap = np.clip(np.minimum(hi, pix + 1) - np.maximum(lo, pix), 0, None)
  return (overlap / overlap.sum(1, keepdims=True)).astype(np.float32)


def center_box(height: int, width: int, fraction: float) -> tuple[int, int, int, int]:
  """A centred square (top, left, side, side) covering `fraction` of the shorter side."""
  side = max(1, int(round(min(height, width) * fraction)))
  return (height - side) // 2, (width - side) // 2, side, side


class CropResize:
  """Crop a box out of a frame and area-resize it to `size x size`, as float32.

  Shrinking goes through OpenCV's area resize (four times the speed of the two
  products, the same averages to 3e-5 of a grey level); enlarging, and more than
  four channels (region maps), through the area matrices.
  """

  def __init__(self, box: tuple[int, int, int, int], size: int):
    self.top, self.left, self.h, self.w = box
    self.size = size
    self.rows, self.cols = area_matrix(self.h, size), area_matrix(self.w, size)

  def __call__(self, frame: np.ndarray) -> np.ndarray:
    crop = frame[self.top:self.top + self.h, self.left:self.left + self.w].astype(np.float32)
    if min(self.h, self.w) >= self.size and crop.ndim == 3 and crop.shape[2] <= 4:
      import cv2  # here: OpenCV is a heavy import, and only extraction needs it
      out = cv2.resize(crop, (self.size, self.size), interpolation=cv2.INTER_AREA)
      return out.reshape(self.size, self.size, -1)  # a lone channel keeps its axis
    rows = (self.rows @ crop.reshape(self.h, -1)).reshape(len(self.rows), self.w, -1)  # [S, w, C]
    return self.cols @ rows  # [S, S, C]: out[i, j] = sum_w cols[j, w] rows[i, w]
