"""Video files in and out through imageio-ffmpeg (its ffmpeg binary ships in the wheel).

Reading is streamed: frames come one at a time, so an hour of 1080p is never
held in memory.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

import imageio_ffmpeg
import numpy as np


class InputError(ValueError):
  """A user's input file cannot be used; the message names the file and the problem."""

  def __init__(self, path: str | os.PathLike, problem: str):
    self.path, self.problem = str(path), problem
    super().__init__(f'{path}: {problem}')


@dataclasses.dataclass(frozen=True)
class VideoInfo:
  path: str
  fps: float
  width: int
  height: int
  duration_s: float


def write_video(path: str | os.PathLike, frames: np.ndarray, fps: float, crf: int = 18,
                chroma: str = '420') -> None:
  """Write `uint8 [T, H, W, 3]` frames as H.264.

  chroma '420': YUV with 4:2:0 subsampling, as webcams and web copies store
  video; colour changes far below a level survive mostly in luma. 'rgb': the
  RGB planes coded directly (libx264rgb), as a lab camera's near-lossless file.
  """
  frames = np.ascontiguousarray(frames, dtype=np.uint8)
  _, h, w, _ = frames.shape
  codec, pix_fmt = {'420': ('libx264', 'yuv420p'), 'rgb': ('libx264rgb', 'rgb24')}[chroma]
  writer = imageio_ffmpeg.write_frames(
      str(path), (w, h), fps=fps, codec=codec, pix_fmt_out=pix_fmt, quality=None,
      macro_block_size=2, output_params=['-crf', str(crf), '-preset', 'veryfast'],
      ffmpeg_log_level='error')
  writer.send(None)
  for frame in frames:
    writer.send(frame)
  writer.close()


def _open(path: Path) -> tuple[Iterator, dict]:
  if not path.is_file():
    raise InputError(path, 'video file not found')
  if path.stat().st_size == 0:
    raise InputError(path, 'video file is empty (0 bytes)')
  try:
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
  except (RuntimeError, StopIteration, OSError) as e:
    first = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
    raise InputError(path, f'ffmpeg cannot read it as a video ({first})') from None
  return reader, meta


def probe(path: str | os.PathLike) -> VideoInfo:
  """Frame rate and size from the container, without decoding the frames."""
  path = Path(path)
  reader, meta = _open(path)
  reader.close()
  fps = float(meta.get('fps') or 0)
  if not np.isfinite(fps) or fps <= 0:
    raise InputError(path, f'container gives no usable frame rate ({meta.get("fps")})')
  w, h = meta['size']
  return VideoInfo(str(path), fps, int(w), int(h), float(meta.get('duration') or 0))


def iter_frames(path: str | os.PathLike) -> Iterator[np.ndarray]:
  """Decode frames one by one as `uint8 [H, W, 3]`; raises InputError on a broken stream."""
  path = Path(path)
  reader, meta = _open(path)
  w, h = meta['size']
  count = 0
  try:
    for raw in reader:
      count += 1
      yield np.frombuffer(raw, np.uint8).reshape(h, w, 3)
  except RuntimeError as e:
    raise InputError(path, f'decoding stopped after {count} frames ({e})') from None
  finally:
    reader.close()
  if count == 0:
    raise InputError(path, 'the video has zero decodable frames')
