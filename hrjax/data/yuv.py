"""Frames as most videos store them: YUV 4:2:0 planes, turned into RGB after the crop.

Webcams, phones and web copies store luma at full size and the two chroma planes
at half size each way. Asking ffmpeg for RGB makes it convert and round every
pixel of every frame to whole grey levels, though extraction keeps only a small
area average of a box of each frame. Extraction therefore takes the planes as
they are: the box of each plane is area-averaged to the clip's size and only
then converted to RGB. Conversion is affine, so converting the averages is
converting the pixels and averaging (chroma counted once per luma pixel it
covers, as ffmpeg's own conversion repeats it), without the rounding and at a
fraction of the work. Values that would clip at 0 or 255 pixel by pixel are the
exception (a saturated highlight); they clip after the average here.

Only 4:2:0 video of limited ("tv") range with a known matrix goes this way;
anything else comes from ffmpeg as RGB, as before (`video_io`).
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

# (Kr, Kb) of the luma-from-RGB weights, named as ffmpeg names the colour spaces
MATRICES = {'bt601': (0.299, 0.114), 'bt709': (0.2126, 0.0722), 'bt2020': (0.2627, 0.0593)}
_MATRIX_TAGS = {'bt470bg': 'bt601', 'smpte170m': 'bt601', 'unknown': 'bt601',
                'bt709': 'bt709', 'bt2020nc': 'bt2020'}
# the rest of ffmpeg's colour-space names: streams it converts itself
_OTHER_SPACES = {'gbr', 'reserved', 'fcc', 'smpte240m', 'ycgco', 'bt2020c', 'smpte2085',
                 'chroma-derived-nc', 'chroma-derived-c', 'ictcp', 'ipt-c2', 'ycgco-re',
                 'ycgco-ro'}


def matrix_of(pix_fmt: str) -> str | None:
  """The matrix to convert a stream with, from ffmpeg's description of it
  (`yuv420p(tv, bt709, progressive)`), or None where the frames should come from ffmpeg
  as RGB: not planar 4:2:0, full range, or a matrix not in MATRICES.

  An untagged stream is BT.601, as ffmpeg's own conversion takes it.
  """
  m = re.fullmatch(r'yuv420p(?:\((.*)\))?', pix_fmt.strip())
  if m is None:
    return None
  tags = [t.strip() for t in (m[1] or '').split(',')]
  if 'pc' in tags:
    return None
  # 'bt709', or 'space/primaries/transfer' where they differ; field order and chroma
  # siting may follow
  for tag in tags:
    space = tag.split('/')[0]
    if space in _MATRIX_TAGS or space in _OTHER_SPACES:
      return _MATRIX_TAGS.get(space)
  return 'bt601'


@dataclasses.dataclass(frozen=True)
class Yuv420:
  """One decoded frame's planes: luma `uint8 [H, W]`, the two chroma planes `uint8
  [ceil(H/2), ceil(W/2)]`. Views where they can be: of ffmpeg's `yuv420p` buffer
  (`from_flat`), or of the decoder's own buffers (`in_process`), whose rows may be padded."""

  y: np.ndarray
  u: np.ndarray
  v: np.ndarray
  matrix: str  # a key of MATRICES

  @staticmethod
  def frame_bytes(width: int, height: int) -> int:
    return width * height + 2 * ((width + 1) // 2) * ((height + 1) // 2)

  @classmethod
  def from_flat(cls, flat: np.ndarray, width: int, height: int, matrix: str) -> 'Yuv420':
    """The planes of one `uint8 [frame_bytes(width, height)]` buffer, luma then the two chroma
    planes, rows packed (ffmpeg's raw `yuv420p`), as views."""
    cw, ch = (width + 1) // 2, (height + 1) // 2
    luma = width * height
    return cls(flat[:luma].reshape(height, width),
               flat[luma:luma + cw * ch].reshape(ch, cw),
               flat[luma + cw * ch:luma + 2 * cw * ch].reshape(ch, cw), matrix)

  @property
  def width(self) -> int:
    return self.y.shape[1]

  @property
  def height(self) -> int:
    return self.y.shape[0]

  @property
  def shape(self) -> tuple[int, int, int]:
    """As the RGB frame's: `(H, W, 3)`."""
    return (self.height, self.width, 3)

  @property
  def nbytes(self) -> int:
    return self.y.nbytes + self.u.nbytes + self.v.nbytes

  def rgb(self) -> np.ndarray:
    """The whole frame as `uint8 [H, W, 3]` RGB, for a detector that wants colour (OpenCV's
    BT.601 conversion where the sides are even: fast, and exact enough to find a face)."""
    h, w = self.height, self.width
    if h % 2 == 0 and w % 2 == 0:
      import cv2
      i420 = np.concatenate([p.reshape(-1) for p in (self.y, self.u, self.v)])
      return cv2.cvtColor(i420.reshape(h * 3 // 2, w), cv2.COLOR_YUV2RGB_I420)
    up = lambda c: c.repeat(2, 0).repeat(2, 1)[:h, :w].astype(np.float32)
    out = to_rgb(self.y.astype(np.float32), up(self.u), up(self.v), self.matrix)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray, matrix: str) -> np.ndarray:
  """Limited-range luma and chroma values (any equal shapes, float) -> RGB `[..., 3]`
  float32 on the 0-255 scale, unclipped."""
  kr, kb = MATRICES[matrix]
  kg = 1 - kr - kb
  luma = (y - 16) * (255 / 219)
  cb, cr = (u - 128) * (255 / 224), (v - 128) * (255 / 224)
  r = luma + 2 * (1 - kr) * cr
  g = luma - (2 * (1 - kb) * kb / kg) * cb - (2 * (1 - kr) * kr / kg) * cr
  b = luma + 2 * (1 - kb) * cb
  return np.stack([r, g, b], -1, dtype=np.float32)
