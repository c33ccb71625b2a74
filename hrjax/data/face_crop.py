"""A face crop in one decoding pass: frames wait in a short buffer until their box settles.

The face boxes of a frame depend on detections up to about a second after it
(`face.FaceTracker`), so frames are held until the tracker says their box is
final, then cropped, resized and let go. The buffer is bounded in bytes: where it
would pass the bound (frames of 4K, or a long stretch with no face at all) the
frames already cropped are kept, detection finishes over the rest of the video,
and a second decoding pass crops the remainder. Both ways give the same boxes
and the same cropped frames.
"""

from __future__ import annotations

import collections
import functools
import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import tqdm
from absl import logging

from hrjax.data import crop, face, face_thread, video_io
from hrjax.errors import InputError

BUFFER_BYTES = 256 << 20  # frames held for their box: about 30 of 1080p, 1 s at 30 fps


def face_crop(video: Path, frames: Iterator[np.ndarray], info: video_io.VideoInfo,
              fs: face.FaceSettings, size: int, fallback_box: tuple | None, *,
              name: str, progress: bool, buffer_bytes: int = BUFFER_BYTES,
              ) -> tuple[list[np.ndarray], np.ndarray, float, face.Landmarks | None]:
  """Every frame of `frames` cropped to its face box and area-resized to `size` (float16).

  Returns (the cropped frames, their boxes `int [F, 4]`, share of sampled frames
  with a face, the landmarks where the detector gives them). With no face
  anywhere: the `fallback_box` for every frame, or an InputError naming the video
  when it is None.
  """
  cut = _cutter(size)
  with face.detector(fs) as detect:
    tracker = face.FaceTracker((info.height, info.width), info.fps, fs, detect)
    with face_thread.BackgroundDetections(tracker) as detections:
      done, boxes, streaming, held = _crop_streaming(detections, frames, cut, name, progress,
                                                     buffer_bytes)
  share = tracker.share
  if boxes is None:
    sampled = len(tracker.index)
    if fallback_box is None:
      raise InputError(video, f'no face found in any of {sampled} sampled frames '
                       '(face_fallback=center would crop the centre instead)')
    logging.warning('%s: no face found in any of %d sampled frames; cropping the centre',
                    video, sampled)
    boxes = np.tile(np.array(fallback_box, int), (tracker.count, 1))
  elif share < 0.5:
    logging.warning('%s: a face in only %.0f%% of sampled frames; boxes interpolated between',
                    video, 100 * share)
  rest = held if streaming else _second_pass(video, len(done), name, progress)
  done.extend(cut(f, box) for f, box in zip(rest, boxes[len(done):]))
  return done, boxes, share, face.Landmarks.of(tracker, boxes)


def _cutter(size: int):
  """`(frame, box) -> float16 [size, size, 3]`, the resize matrices cached by box."""
  resize_to = functools.lru_cache(maxsize=64)(lambda box: crop.CropResize(box, size))
  return lambda frame, box: resize_to(tuple(int(v) for v in box))(frame).astype(np.float16)


def _crop_streaming(detections: face_thread.BackgroundDetections, frames: Iterator[np.ndarray],
                    cut, name: str, progress: bool, buffer_bytes: int):
  """Detection over every frame, and the crops (`cut(frame, box)`) of those whose box
  settled while the frames streamed; returns (crops, every frame's box or None, whether
  the buffer held, the frames still held)."""
  tracker = detections.tracker
  done: list[np.ndarray] = []
  held: collections.deque = collections.deque()
  streaming = True
  for frame in tqdm.tqdm(frames, desc=name, leave=False, disable=not progress, unit='frame'):
    detections.see(frame)
    if not streaming:
      continue
    held.append(frame)
    if (settled := tracker.settled) > len(done):
      for box in tracker.boxes(len(done), settled):
        done.append(cut(held.popleft(), box))
    if len(held) * frame.nbytes > buffer_bytes:
      streaming = False  # detection goes on; a second pass crops what was not yet cut
      held.clear()
  detections.finish()
  return done, tracker.boxes(0, tracker.count), streaming, held


def _second_pass(video: Path, skip: int, name: str, progress: bool) -> Iterator[np.ndarray]:
  """The video decoded again from frame `skip` on (the buffer's bound was reached)."""
  logging.info('%s: frames too large or no face for long: decoding a second time', video)
  frames = itertools.islice(video_io.iter_frames(video, planes=True), skip, None)
  return iter(tqdm.tqdm(frames, desc=f'{name} (second pass)', leave=False,
                        disable=not progress, unit='frame'))
