r"""Where the time of a face crop goes: the detector's searches, and CPU against plain decoding.

  python scripts/face_crop_costs.py --root ../shared/data/ubfc-dev [--repeats 2]

Two tables. (1) Over every 10th frame of each video (its luma area-shrunk to 320 pixels, as
extraction does, OpenCV on one thread): the Haar cascade's search of the whole frame
against its search near the last face (`face.detect_largest_face(..., near=)`), ms per
search, how often the near search found nothing, and how far its faces are from the whole
frame's. (2) For the first video: wall time and CPU (this process, and ffmpeg's) of plain
decoding (`imageio_ffmpeg.read_frames`, RGB; and to the stream's YUV planes), of extraction
with a centre crop and with a face crop (`extract.decode_video`), `--repeats` times each,
alternating. (3) On Linux, the face crop's CPU thread by thread (cropping, detection, and
the video's read-ahead: the reader of ffmpeg's pipe, or the decoding itself where the planes
are decoded in this process) beside ffmpeg's own.
"""

import os
import sys
import time
from pathlib import Path

# one thread for numpy's products, as extraction's worker processes have (before numpy loads)
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
os.environ.setdefault('OMP_NUM_THREADS', '1')

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hrjax.data import extract, face, video_io  # noqa: E402

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
    sampled = [face.shrink_for_detection(face.detection_image(f, 'haar'), s.detect_width)
               for i, f in enumerate(video_io.iter_frames(video, planes=True))
               if i % s.every == 0]  # as extraction gives Haar a frame
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


def _thread_cpu() -> dict[int, float]:
  """CPU seconds (user + system) of each thread of this process, by thread id (Linux)."""
  tick, out = os.sysconf('SC_CLK_TCK'), {}
  for tid in os.listdir('/proc/self/task'):
    try:
      fields = Path(f'/proc/self/task/{tid}/stat').read_text().rsplit(')', 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
      continue
    out[int(tid)] = (int(fields[11]) + int(fields[12])) / tick
  return out


def thread_table(video: Path, size: int) -> str:
  """Where a face crop's CPU goes, thread by thread, as an extraction worker runs it
  (OpenCV on one thread): a sampler keeps the last reading of each thread, which ends with
  its video."""
  import threading

  import cv2
  cv2.setNumThreads(1)
  names, last, stop = {}, {}, threading.Event()

  def sample():
    while not stop.wait(0.01):
      names.update({t.native_id: t.name for t in threading.enumerate()})
      last.update(_thread_cpu())

  before = _thread_cpu()
  sampler = threading.Thread(target=sample, name='sampler', daemon=True)
  sampler.start()
  wall, _, ffmpeg = _timed(lambda: extract.decode_video(
      video, extract.ExtractSettings(crop='face', size=size)))
  stop.set()
  sampler.join()
  last.update(_thread_cpu())
  by: dict[str, float] = {}
  for tid, cpu in last.items():
    name = 'main' if tid == os.getpid() else names.get(tid, 'other')
    if name != 'sampler':
      by[name] = by.get(name, 0.0) + cpu - before.get(tid, 0.0)
  lines = [f'{video.name}, one face crop: CPU seconds by thread (wall {wall:.2f} s)', '',
           '| thread | CPU s |', '| --- | --- |']
  lines += [f'| {k} | {v:.2f} |' for k, v in sorted(by.items(), key=lambda kv: -kv[1])]
  return '\n'.join(lines + [f'| ffmpeg (its own process) | {ffmpeg:.2f} |'])


def main(argv):
  del argv
  videos = _videos(Path(FLAGS.root))
  print(detector_table(videos, face.FaceSettings()))
  print()
  print(cpu_table(videos[0], FLAGS.repeats, FLAGS.size))
  if Path('/proc/self/task').is_dir():
    print()
    print(thread_table(videos[0], FLAGS.size))


if __name__ == '__main__':
  app.run(main)
