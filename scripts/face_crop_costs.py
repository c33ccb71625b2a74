r"""Where the time of a face crop goes: the detector's searches, and CPU against plain decoding.

  python scripts/face_crop_costs.py --root ../shared/data/ubfc-dev [--repeats 2]

Two tables. (1) Over every 10th frame of each video (its luma area-shrunk to 320 pixels, as
extraction does, OpenCV on one thread): the Haar cascade's search of the whole frame
against its search near the last face (`face.detect_largest_face(..., near=)`), ms per
search, how often the near search found nothing, and how far its faces are from the whole
frame's. (2) For the first video: wall time and CPU (this process, and ffmpeg's) of plain
decoding (`imageio_ffmpeg.read_frames`, RGB; and to the stream's YUV planes), of extraction
with a centre crop and with a face crop (`extract.decode_video`), `--repeats` times each,
alternating.
"""

import os
import sys
import time
from pathlib import Path

import numpy as np
from absl import app, flags

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hrjax.data import extract, face, video_io, yuv  # noqa: E402

flags.DEFINE_string('root', '../shared/data/ubfc-dev', 'A folder of videos (searched for '
                    '*.mp4, *.avi, *.mov below it).')
flags.DEFINE_integer('repeats', 2, 'Runs of each decoding, alternating.')
flags.DEFINE_integer('size', 36, 'Clip side for the extraction timings.')
FLAGS = flags.FLAGS


def _videos(root: Path) -> list[Path]:
  found = sorted(p for ext in ('*.mp4', '*.avi', '*.mov') for p in root.rglob(ext))
  if not found:
    raise SystemExit(f'{root}: no videos found')
  return found


def detector_table(videos: list[Path], s: face.FaceSettings) -> str:
  import cv2
  cv2.setNumThreads(1)
  full_ms, near_ms, missed, offsets = [], [], 0, []
  for video in videos:
    sampled = [face.shrink_for_detection(f.y if isinstance(f, yuv.Yuv420) else f, s.detect_width)
               for i, f in enumerate(video_io.iter_frames(video, planes=True))
               if i % s.every == 0]  # as extraction gives Haar a frame: luma where it can
    last = None
    for frame in sampled:
      t = time.perf_counter()
      whole = face.detect_largest_face(frame, s.min_face)
      full_ms.append(1e3 * (time.perf_counter() - t))
      if last is not None:
        t = time.perf_counter()
        near = face.detect_largest_face(frame, s.min_face, near=last)
        near_ms.append(1e3 * (time.perf_counter() - t))
        missed += near is None
        if near is not None and whole is not None:
          offsets.append(np.abs(np.subtract(near[:3], whole[:3])))
      last = whole[:3] if whole is not None else last
  off = np.mean(offsets, 0) if offsets else np.full(3, np.nan)
  return '\n'.join([
      '| search (320-pixel frames, one thread) | searches | ms each (median) | none found |',
      '| --- | --- | --- | --- |',
      f'| whole frame | {len(full_ms)} | {np.median(full_ms):.1f} | - |',
      f'| near the last face | {len(near_ms)} | {np.median(near_ms):.1f} | {missed} |',
      '',
      f'Near-search faces against the whole frame\'s: {off[0]:.2f} px (row), {off[1]:.2f} px '
      f'(column), {off[2]:.2f} px (side), on 320-pixel frames.'])


def _timed(fn) -> tuple[float, float, float]:
  """(wall s, this process's CPU s, its children's CPU s)."""
  t, c = time.perf_counter(), os.times()
  fn()
  d = os.times()
  return (time.perf_counter() - t, d.user + d.system - c.user - c.system,
          d.children_user + d.children_system - c.children_user - c.children_system)


def cpu_table(video: Path, repeats: int, size: int) -> str:
  import imageio_ffmpeg
  runs = {
      'plain decoding': lambda: sum(1 for _ in imageio_ffmpeg.read_frames(str(video))),
      'plain decoding to YUV planes': lambda: sum(1 for _ in video_io.iter_frames(video, True)),
      'centre crop': lambda: extract.decode_video(
          video, extract.ExtractSettings(crop='center', size=size)),
      'face crop': lambda: extract.decode_video(
          video, extract.ExtractSettings(crop='face', size=size)),
  }
  got = {name: [] for name in runs}
  for _ in range(repeats):
    for name, fn in runs.items():
      got[name].append(_timed(fn))
  fmt = lambda xs: ', '.join(f'{x:.2f}' for x in xs)
  lines = [f'{video.name}: wall and CPU seconds, {repeats} runs each, alternating', '',
           '| work | wall s | this process CPU s | ffmpeg CPU s |', '| --- | --- | --- | --- |']
  for name, rows in got.items():
    wall, own, ffmpeg = zip(*rows)
    lines.append(f'| {name} | {fmt(wall)} | {fmt(own)} | {fmt(ffmpeg)} |')
  return '\n'.join(lines)


def main(argv):
  del argv
  videos = _videos(Path(FLAGS.root))
  print(detector_table(videos, face.FaceSettings()))
  print()
  print(cpu_table(videos[0], FLAGS.repeats, FLAGS.size))


if __name__ == '__main__':
  app.run(main)
