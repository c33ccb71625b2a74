"""Frame geometry for extraction: a crop box (a centred square) and area resize to S x S."""

from __future__ import annotations

import functools

import numpy as np

from hrjax.data import yuv

CROPS = ('face', 'center', 'none')  # a detected face, a centred square, the whole frame


def area_matrix(n_in: int, n_out: int, start: float = 0.0, stop: float | None = None,
                ) -> np.ndarray:
  """`[n_out, n_in]` weights that average each output cell's share of the input (area
  resize) of the span [start, stop) of input pixels (default: all of them; the ends may
  fall inside a pixel, as a luma box's do on the half-size chroma planes)."""
  edges = np.linspace(start, n_in if stop is None else stop, n_out + 1)
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
  four channels (region maps), through the area matrices. A `yuv.Yuv420` frame is
  averaged plane by plane and converted to RGB after.
  """

  def __init__(self, box: tuple[int, int, int, int], size: int):
    self.top, self.left, self.h, self.w = box
    self.size = size
    self._chroma = None  # ((row slice, row weights), (column slice, column weights)) of chroma

  @functools.cached_property
  def rows(self) -> np.ndarray:
    return area_matrix(self.h, self.size)

  @functools.cached_property
  def cols(self) -> np.ndarray:
    return area_matrix(self.w, self.size)

  def __call__(self, frame: np.ndarray | yuv.Yuv420) -> np.ndarray:
    if isinstance(frame, yuv.Yuv420):
      return self._from_planes(frame)
    crop = frame[self.top:self.top + self.h, self.left:self.left + self.w].astype(np.float32)
    if min(self.h, self.w) >= self.size and crop.ndim == 3 and crop.shape[2] <= 4:
      import cv2  # here: OpenCV is a heavy import, and only extraction needs it
      out = cv2.resize(crop, (self.size, self.size), interpolation=cv2.INTER_AREA)
      return out.reshape(self.size, self.size, -1)  # a lone channel keeps its axis
    rows = (self.rows @ crop.reshape(self.h, -1)).reshape(len(self.rows), self.w, -1)  # [S, w, C]
    return self.cols @ rows  # [S, S, C]: out[i, j] = sum_w cols[j, w] rows[i, w]

  def _from_planes(self, frame: yuv.Yuv420) -> np.ndarray:
    """The box of each plane area-averaged to `size x size`, then converted (`yuv`)."""
    y = self(frame.y[..., None])[..., 0]
    if self._chroma is None:
      # the luma box on the half-size planes: [top/2, (top+h)/2), ends inside a chroma pixel
      # when odd; each chroma pixel weighs as the luma pixels it covers
      ch, cw = frame.u.shape
      spans = []
      for lo, n, n_in in ((self.top, self.h, ch), (self.left, self.w, cw)):
        first, stop = lo // 2, min(n_in, -(-(lo + n) // 2))
        spans.append((slice(first, stop), _chroma_weights(stop - first, self.size, lo % 2, n)))
      self._chroma = spans
    (rs, rw), (cs, cw_) = self._chroma
    u, v = ((rw @ c[rs, cs].astype(np.float32)) @ cw_.T for c in (frame.u, frame.v))
    return yuv.to_rgb(y, u, v, frame.matrix)


@functools.lru_cache(maxsize=256)
def _chroma_weights(n_in: int, size: int, odd_start: int, n: int) -> np.ndarray:
  """A luma span of `n` pixels on the half-size plane: it starts half a pixel in when its
  first luma row (column) is odd. Boxes of a face crop move by a pixel or two from frame to
  frame, so the same few shapes come back."""
  return area_matrix(n_in, size, odd_start / 2, (odd_start + n) / 2)
