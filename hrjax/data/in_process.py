"""A video's 4:2:0 planes decoded in this process (PyAV's libavcodec), not piped from ffmpeg.

Raw frames piped out of an ffmpeg process cost a copy on each side of the pipe, about
as much CPU again as decoding them (docs/performance.md, "Decoding in this process"),
and extraction's face crop is bound by CPU. Decoding here hands over views of the
decoder's own buffers instead. The frames are ffmpeg's to the byte at the same thread count, a
damaged stream included: like ffmpeg's command line, a packet the decoder refuses is
skipped and decoding goes on (the tests check both).

Only a file with one video stream, which needs no rotation or flip and decodes to the size
and 4:2:0 format that ffmpeg reported, comes this way; `open_planes` says None for anything
else, which stays on ffmpeg's pipe (`video_io`). Where the frames change size or format
part way (ffmpeg's command line scales them back to the first), the rest of the video
comes from ffmpeg's pipe instead.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

# Frames from this size up are decoded by libavcodec's own threads (one per core); below
# it one thread: the frames are cheap to decode and threading only adds CPU, which the
# face crop's other threads need (docs/performance.md, "Decoding in this process").
THREADED_FROM_PIXELS = 1280 * 720


def decoder_threads(width: int, height: int) -> int:
  """Decoding threads for a frame size, 0 meaning libavcodec's choice."""
  return 0 if width * height >= THREADED_FROM_PIXELS else 1


def open_planes(path: Path, size: tuple[int, int], threads: int,
                piped: Callable[[], Iterator]) -> Iterator | None:
  """Each frame of `path`'s video stream as its planes `(y, u, v)` (`planes`); or None
  where the stream cannot come this way (not the file's only video stream, rotated or
  flipped, another size than `size` = (width, height), not `yuv420p`, or unreadable here).
  `piped()` starts ffmpeg's pipe of the same frames (raw `yuv420p` bytes), for the rest of a
  video whose frames change size or format. Closing the iterator closes the file. Without
  PyAV (an image installed with no dependencies) None too: ffmpeg's pipe, the same bytes."""
  try:
    import av
  except ImportError:
    return None
  if not _plain_stream(path, size):
    return None
  try:
    container = av.open(str(path))
  except (av.FFmpegError, OSError):
    return None
  stream = container.streams.video[0]
  stream.thread_type = 'AUTO'  # frame and slice threads, as ffmpeg's command line
  stream.codec_context.thread_count = threads
  return _frame_planes(container, _decoded(container, stream), piped)


def _plain_stream(path: Path, size: tuple[int, int]) -> bool:
  """Whether `path` holds one video stream whose first frame is `yuv420p` at `size`, with no
  display matrix (a rotation, or a flip: PyAV's `rotation` reads 0 for a vertical flip),
  which ffmpeg's command line would apply. Looked at in a container of its own: reading a
  frame's side data ties the frame in a reference cycle, and a frame kept alive keeps its
  decoder's whole pool of frame buffers until Python's cycle collector runs."""
  import av
  try:
    with av.open(str(path)) as probe:
      if len(probe.streams.video) != 1:  # ffmpeg would pick one of them by its own rules
        return False
      first = next(_decoded(probe, probe.streams.video[0]), None)
  except (av.FFmpegError, OSError):
    return False
  return (first is not None and not first.rotation and (first.width, first.height) == tuple(size)
          and first.format.name == 'yuv420p'
          and not any(sd.type.name == 'DISPLAYMATRIX' for sd in first.side_data))


def _decoded(container, stream) -> Iterator:
  import av
  for packet in container.demux(stream):  # the last, empty packet flushes the decoder
    try:
      frames = packet.decode()
    except av.InvalidDataError:  # ffmpeg's command line logs such a packet and goes on
      continue
    yield from frames


def _frame_planes(container, frames: Iterator, piped: Callable[[], Iterator]) -> Iterator:
  import av
  shape = None
  try:
    for i, frame in enumerate(frames):
      if shape is None:
        shape = (frame.width, frame.height, frame.format.name)
      elif (frame.width, frame.height, frame.format.name) != shape:
        container.close()
        yield from _skipped(piped(), i)
        return
      yield planes(frame)
  except av.FFmpegError as e:
    raise RuntimeError(str(e)) from None  # as a broken pipe from ffmpeg reads (`video_io`)
  finally:
    container.close()


def _skipped(reader: Iterator, n: int) -> Iterator:
  """`reader`'s items after its first `n`, the reader closed at the end."""
  try:
    yield from itertools.islice(reader, n, None)
  finally:
    reader.close()


def planes(frame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """A decoded frame's planes as `uint8 [rows, columns]` views of the decoder's buffers (its
  rows padded to an alignment; the views skip the padding). A view keeps its frame alive."""
  return tuple(np.frombuffer(p, np.uint8).reshape(-1, p.line_size)[:p.height, :p.width]
               for p in frame.planes)
