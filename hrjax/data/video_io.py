"""Videos in and out: container files through imageio-ffmpeg (its ffmpeg binary ships
in the wheel), and folders of image frames (PNG, as PURE stores them) through Pillow.

Reading is streamed: frames come one at a time, so an hour of 1080p is never
held in memory.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import queue
import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from PIL import Image

from hrjax.data import in_process, mat_files, yuv
from hrjax.errors import InputError

# imageio-ffmpeg warns when the frames' size differs from the stream's: a rotated phone video
logging.getLogger('imageio_ffmpeg').setLevel(logging.ERROR)
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff')
# Frames ffmpeg may decode ahead of the one in use: as many as READ_AHEAD_BYTES hold, from 4
# (4K) to 64. A face crop takes its frames in bursts (ten or so each time a detection settles
# their boxes), and ffmpeg keeps decoding meanwhile.
READ_AHEAD = (4, 64)
READ_AHEAD_BYTES = 32 << 20
# Decoded in this process (`in_process`) at most this many: the frames are the decoder's own
# buffers, and more of them held cost memory without speed (docs/performance.md, "Decoding
# in this process").
READ_AHEAD_IN_PROCESS = 16
# Frames from this size up come as their planes when asked (extraction): there converting the
# whole frame is ffmpeg's largest cost. A small frame (the synthetic 96-pixel videos) costs
# more as three planes than converted whole, and comes as RGB.
PLANES_MIN_PIXELS = 320 * 240
# The stream's format is known only once ffmpeg has opened it, so a video asked for planes is
# started the way the last one of this process came (a dataset's videos share their format),
# and started again where that was the wrong way: one start per video, not two. Only the
# speed depends on it, never the frames.
_PLANES_PARAMS = dict(pix_fmt='yuv420p', bits_per_pixel=12)
_last_came_as_planes = [False]
# Decoding threads; 0: ffmpeg's own choice (about one per core), and in this process
# `in_process.decoder_threads`. Extraction's worker processes, one per core, each decode with
# one. An intact H.264 stream decodes to the same bytes either way; the frames a decoder
# conceals in a damaged one depend on its threads.
DECODER_THREADS = 0


@dataclasses.dataclass(frozen=True)
class VideoInfo:
  path: str
  fps: float  # 0 for an image folder or a MATLAB file: their frame times come from elsewhere
  width: int
  height: int
  duration_s: float
  frames: int  # as the container states it (duration x fps), exact for an image folder


# x264's thread count, fixed: at a target bitrate (the generator's web copies) its rate
# control depends on it, so a machine with other cores wrote other videos (one CPU against
# two: 38% of the clip values differed, `scripts/generator_determinism.py --config quick`).
# 3 is what x264 chose on its own (1.5 per core) on the 2-core machines of the README's figures.
X264_THREADS = 3


def write_video(path: str | os.PathLike, frames: np.ndarray, fps: float, crf: int = 18,
                chroma: str = '420', kbit_s: float | None = None) -> None:
  """Write `uint8 [T, H, W, 3]` frames as H.264.

  chroma '420': YUV with 4:2:0 subsampling, as webcams and web copies store
  video; colour changes far below a level survive mostly in luma. 'rgb': the
  RGB planes coded directly (libx264rgb), as a lab camera's near-lossless file.
  `kbit_s`: a target bitrate instead of the quality `crf` (x264's default preset), as a
  web copy is re-encoded: the encoder skips what does not fit, a faint pulse first.
  """
  frames = np.ascontiguousarray(frames, dtype=np.uint8)
  _, h, w, _ = frames.shape
  codec, pix_fmt = {'420': ('libx264', 'yuv420p'), 'rgb': ('libx264rgb', 'rgb24')}[chroma]
  rate = (['-crf', str(crf), '-preset', 'veryfast'] if kbit_s is None else
          ['-b:v', f'{kbit_s:.1f}k', '-preset', 'medium'])
  rate += ['-threads', str(X264_THREADS)]
  writer = imageio_ffmpeg.write_frames(
      str(path), (w, h), fps=fps, codec=codec, pix_fmt_out=pix_fmt, quality=None,
      macro_block_size=2, output_params=rate, ffmpeg_log_level='error')
  writer.send(None)
  for frame in frames:
    writer.send(frame)
  writer.close()


def image_files(folder: Path) -> list[Path]:
  """The frames of an image folder in order (numbers in names compared as numbers)."""
  files = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS]
  key = lambda p: [int(x) if x.isdigit() else x for x in re.split(r'(\d+)', p.name)]
  return sorted(files, key=key)


def _read_image(path: Path) -> np.ndarray:
  try:
    with Image.open(path) as im:
      return np.asarray(im.convert('RGB'))
  except (OSError, SyntaxError, ValueError) as e:
    raise InputError(path, f'cannot read the image ({e})') from None


def _open(path: Path, planes: bool = False) -> tuple[Iterator, dict]:
  """ffmpeg reading `path`, and the stream's description. `planes`: frames as the stream's
  own 4:2:0 planes (`yuv`) where it has them and they are at least PLANES_MIN_PIXELS
  (`meta['yuv_matrix']` then says how to convert), else as RGB; the planes decoded in this
  process (`in_process`) where they can be, the description still ffmpeg's."""
  if not path.is_file():
    raise InputError(path, 'video file not found')
  if path.stat().st_size == 0:
    raise InputError(path, 'video file is empty (0 bytes)')
  guess = planes and _last_came_as_planes[0]
  reader, meta = _start(path, **(_PLANES_PARAMS if guess else {}))
  large = np.prod(meta['size']) >= PLANES_MIN_PIXELS
  meta['yuv_matrix'] = yuv.matrix_of(meta.get('pix_fmt', '')) if planes and large else None
  as_planes = meta['yuv_matrix'] is not None
  if planes:
    _last_came_as_planes[0] = as_planes
  if as_planes:  # decoded in this process where it can be: no pipe to copy the frames through
    w, h = meta['size']
    planes_here = in_process.open_planes(
        path, (w, h), DECODER_THREADS or in_process.decoder_threads(w, h),
        piped=lambda: _start(path, **_PLANES_PARAMS)[0])
    if planes_here is not None:
      reader.close()
      return planes_here, {**meta, 'in_process': True}
  if as_planes != guess:  # started the other way: ffmpeg again
    reader.close()
    reader, _ = _start(path, **(_PLANES_PARAMS if as_planes else {}))
  return reader, meta


def _start(path: Path, **params) -> tuple[Iterator, dict]:
  # every decoded frame once: without it ffmpeg repeats frames of a variable-rate video
  # to fill a constant rate (the times of the frames come from `frame_stamps`)
  if DECODER_THREADS:
    params['input_params'] = ['-threads', str(DECODER_THREADS)]
  try:
    reader = imageio_ffmpeg.read_frames(str(path), output_params=['-fps_mode', 'passthrough'],
                                        **params)
    return reader, next(reader)
  except (RuntimeError, StopIteration, OSError) as e:
    raise InputError(path, f'ffmpeg cannot read it as a video ({_ffmpeg_reason(e)})') from None


def frame_stamps(path: str | os.PathLike) -> np.ndarray | None:
  """Presentation times (s, the first frame at 0) of the first video stream's frames, as
  the container stores them, read without decoding (a phone's variable-rate video has no
  single fps); None where ffmpeg gives none."""
  cmd = [imageio_ffmpeg.get_ffmpeg_exe(), '-v', 'error', '-i', str(path), '-map', '0:v:0',
         '-c', 'copy', '-f', 'framecrc', '-']
  proc = subprocess.run(cmd, capture_output=True, text=True)
  tb = re.search(r'^#tb 0: (\d+)/(\d+)', proc.stdout, re.M)
  if proc.returncode or not tb:
    return None
  try:
    pts = [int(line.split(',')[2]) for line in proc.stdout.splitlines()
           if line and not line.startswith('#')]
  except (IndexError, ValueError):  # a packet without a presentation time
    return None
  if not pts:
    return None
  pts = np.sort(np.asarray(pts, np.int64))
  return (pts - pts[0]) * int(tb[1]) / int(tb[2])


# ffmpeg's words for the common broken files -> what they mean for the user
_FFMPEG_REASONS = (('moov atom not found', 'no moov atom: truncated, unfinished or not an MP4/MOV'),
                   ('does not contain any stream', 'no video stream: zero frames or audio only'),
                   ('invalid data found', 'corrupt or not a video: invalid data'),
                   ('no such file', 'file not found'))


def _ffmpeg_reason(e: Exception) -> str:
  text = str(e).strip()
  for needle, reason in _FFMPEG_REASONS:
    if needle in text.lower():
      return reason
  return text.splitlines()[-1] if text else type(e).__name__


def probe(path: str | os.PathLike) -> VideoInfo:
  """Frame rate and size from the container (or the first image), without decoding."""
  path = Path(path)
  if path.is_dir():
    files = image_files(path)
    if not files:
      raise InputError(path, f'no image frames ({", ".join(IMAGE_EXTENSIONS)}) in this folder')
    h, w, _ = _read_image(files[0]).shape
    return VideoInfo(str(path), 0.0, w, h, 0.0, len(files))
  if path.suffix.lower() == '.mat':
    t, h, w, _ = mat_files.names_and_shapes(path)[mat_files.video_variable(path)]
    return VideoInfo(str(path), 0.0, w, h, 0.0, t)
  reader, meta = _open(path)
  reader.close()
  return _info(path, meta)


def _info(path: Path, meta: dict) -> VideoInfo:
  fps = float(meta.get('fps') or 0)
  if not np.isfinite(fps) or fps <= 0:
    raise InputError(path, f'container gives no usable frame rate ({meta.get("fps")})')
  w, h = meta['size']
  duration = float(meta.get('duration') or 0)
  return VideoInfo(str(path), fps, int(w), int(h), duration, int(round(duration * fps)))


def _iter_images(path: Path) -> Iterator[np.ndarray]:
  files = image_files(path)
  if not files:
    raise InputError(path, 'no image frames in this folder')
  shape = None
  for f in files:
    frame = _read_image(f)
    if shape is None:
      shape = frame.shape
    elif frame.shape != shape:
      raise InputError(f, f'frame size {frame.shape[:2]} differs from the first {shape[:2]}')
    yield frame


def iter_frames(path: str | os.PathLike, planes: bool = False,
                ) -> Iterator[np.ndarray | yuv.Yuv420]:
  """Decode frames one by one as `uint8 [H, W, 3]` RGB.

  `path` is a video file, a folder of image frames or a MATLAB file holding them
  (`mat_files`); raises InputError on a broken stream or a video with no frames.
  `planes`: a 4:2:0 video's frames of at least PLANES_MIN_PIXELS come as `yuv.Yuv420`
  instead (extraction converts after the crop's average); other sources still as RGB.
  """
  path = Path(path)
  if path.is_dir():
    yield from _iter_images(path)
    return
  if path.suffix.lower() == '.mat':
    yield from mat_files.read_frames(path)
    return
  yield from _decoded(path, *_open(path, planes))


def open_video(path: str | os.PathLike, planes: bool = False,
               ) -> tuple[VideoInfo, Iterator[np.ndarray | yuv.Yuv420]]:
  """`probe` and `iter_frames` from one start of ffmpeg (each waits for its header; a
  second start where the planes were asked for and the last video came the other way)."""
  path = Path(path)
  if path.is_dir():
    return probe(path), _iter_images(path)
  if path.suffix.lower() == '.mat':
    return probe(path), iter_frames(path)
  reader, meta = _open(path, planes)
  try:
    info = _info(path, meta)
  except InputError:
    reader.close()
    raise
  return info, _decoded(path, reader, meta)


def _decoded(path: Path, reader: Iterator, meta: dict) -> Iterator[np.ndarray | yuv.Yuv420]:
  w, h = meta['size']  # after any rotation
  matrix = meta['yuv_matrix']
  expected = w * h * 3 if matrix is None else yuv.Yuv420.frame_bytes(w, h)
  depth = int(np.clip(READ_AHEAD_BYTES // expected, *READ_AHEAD))
  if meta.get('in_process'):
    depth = min(depth, READ_AHEAD_IN_PROCESS)
  count = 0
  try:
    for raw in _read_ahead(reader, depth):
      if isinstance(raw, tuple):  # planes decoded in this process (`in_process`)
        count += 1
        yield yuv.Yuv420(*raw, matrix)
        continue
      if len(raw) != expected:
        raise RuntimeError(f'frame of {len(raw)} bytes, expected {expected} ({w}x{h})')
      count += 1
      flat = np.frombuffer(raw, np.uint8)
      yield flat.reshape(h, w, 3) if matrix is None else yuv.Yuv420.from_flat(flat, w, h, matrix)
  except RuntimeError as e:
    raise InputError(path, f'decoding stopped after {count} frames ({e})') from None
  if count == 0:
    raise InputError(path, 'the video has zero decodable frames')


def _read_ahead(reader: Iterator[bytes], depth: int) -> Iterator[bytes]:
  """`reader`'s items, read by a thread up to `depth` ahead, so that the next frames decode
  (ffmpeg's, through a pipe that holds 64 KB, not a frame; or `in_process`'s, in the thread)
  while this process works on the current one.
  The reader is closed (ffmpeg stopped) when the items end or the caller stops early."""
  items: queue.Queue = queue.Queue(depth)
  stop = threading.Event()

  def pump():
    try:
      for item in reader:
        items.put((True, item))
        if stop.is_set():
          break
      items.put((True, None))
    except Exception as e:  # noqa: BLE001 - handed to the caller's thread
      items.put((False, e))
    finally:
      reader.close()

  thread = threading.Thread(target=pump, name='video-read-ahead', daemon=True)
  thread.start()
  try:
    while True:
      ok, item = items.get()
      if not ok:
        raise item
      if item is None:
        return
      yield item
  finally:
    stop.set()
    while thread.is_alive():  # let a pump blocked on a full queue see the stop
      try:
        items.get(timeout=0.05)
      except queue.Empty:
        pass
