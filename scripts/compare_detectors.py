r"""The face detectors side by side on real recordings: faces found, box jitter, speed, and the
2AFC of the same checkpoints on each detector's store.

  python scripts/compare_detectors.py --root ../shared/data/ubfc-dev \
      --checkpoints 'runs/arm-final/real-pretrain-seed{seed}' --seeds 0,1,2,3,4 \
      --out docs/detectors.md

Per detector:
- face share: frames with a face when the detector runs on every frame (the first
  `--jitter_frames` of each video);
- raw jitter: median frame-to-frame move of the detected face's centre and side (pixels
  of the full frame) over those frames: the detector's own noise, the head's motion
  being slow at 30 fps; and of the boxes extraction crops (every 10th frame detected,
  interpolated and smoothed over a second; whole pixels, so the mean move), whose jitter
  the clips see;
- crop side: the mean side of the crop boxes (the two detectors' sides are matched);
- frames/s: a whole extraction of the folder in one process (`--workers 1`) against plain
  decoding of the same videos, both timed here;
- 2AFC: each checkpoint evaluated on the store (`hrjax.main --mode eval`), mean ± sd over
  seeds; CHROM on the same clips.
"""

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from absl import app, flags

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hrjax import cli  # noqa: E402
from hrjax.data import adapters, extract, face, video_io  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string('root', '../shared/data/ubfc-dev', 'UBFC-rPPG-layout folder of real faces.')
flags.DEFINE_string('dataset', 'ubfc_rppg', 'Its layout (adapter name).')
flags.DEFINE_list('detectors', list(face.DETECTORS), 'Detectors to compare.')
flags.DEFINE_string('stores', 'data/ubfc-dev/detectors', 'Parent folder of the stores, one per '
                    'detector (extracted again every run: the extraction is timed).')
flags.DEFINE_string('checkpoints', 'runs/arm-final/real-pretrain-seed{seed}',
                    'Training workdirs to evaluate, {seed} replaced by each seed.')
flags.DEFINE_string('config', 'configs/real.py:pretrain', 'Their config (as for hrjax.main).')
flags.DEFINE_list('seeds', ['0', '1', '2', '3', '4'], 'Seeds of the checkpoints.')
flags.DEFINE_integer('jitter_frames', 300, 'Frames per video with the detector on each.')
flags.DEFINE_string('face_python', '', "MediaPipe's Python (default: .venv-faces).")
flags.DEFINE_string('out', None, 'Markdown table to write (a .json beside it); else printed.')


def detections(video: Path, s: face.FaceSettings, frames: int) -> np.ndarray:
  """`[F, 3]` (centre row, centre column, side) of the detector on each of the first
  `frames` frames (full-frame pixels; NaN where no face)."""
  out = []
  info, stream = video_io.open_video(video, planes=True)  # as extraction reads it
  with face.detector(s) as detect:
    tracker = face.FaceTracker((info.height, info.width), info.fps, s, detect)
    for i, frame in enumerate(stream):
      if i == frames:
        break
      hit = tracker.detect_on(frame)  # each search near the last face, as extraction's
      out.append((np.nan,) * 3 if hit is None else (hit.cy, hit.cx, hit.side))
    stream.close()
  return np.array(out)


def move(track: np.ndarray, average=np.median) -> tuple[float, float]:
  """Frame-to-frame move of the centre and of the side (median, or `average`), over
  frames with a face."""
  step = np.diff(track, axis=0)
  step = step[np.all(np.isfinite(step), 1)]
  return (float(average(np.hypot(step[:, 0], step[:, 1]))),
          float(average(np.abs(step[:, 2]))))


def detector_row(name: str, recordings: list) -> dict:
  s = face.FaceSettings(detector=name, face_python=FLAGS.face_python)
  tracks = [detections(r.video, s, FLAGS.jitter_frames) for r in recordings]
  raw = np.array([move(t) for t in tracks])
  store = Path(FLAGS.stores) / name
  subprocess.run(['rm', '-rf', str(store)], check=True)
  settings = extract.ExtractSettings(crop='face', face_detector=name,
                                     face_python=FLAGS.face_python, split_fractions=(0, 0, 1))
  t0 = time.perf_counter()
  extract.extract(FLAGS.dataset, FLAGS.root, store, settings, progress=False, workers=1)
  seconds = time.perf_counter() - t0
  boxes, frames = [], 0
  for r in recordings:
    decoded = extract.decode_recording(r, settings, progress=False)  # the boxes it cropped
    boxes.append(decoded.boxes)
    frames += len(decoded.source_times)
  # The crop boxes are whole pixels and mostly still: their mean move, not the median (0).
  used = [move(np.stack([b[:, 0] + b[:, 2] / 2, b[:, 1] + b[:, 3] / 2, b[:, 2]], 1)
               .astype(float), np.mean) for b in boxes]
  return dict(detector=name, store=str(store),
              face_share=float(np.mean([np.isfinite(t[:, 0]).mean() for t in tracks])),
              raw_centre_px=float(raw[:, 0].mean()), raw_side_px=float(raw[:, 1].mean()),
              crop_centre_px=float(np.mean([u[0] for u in used])),
              crop_side=float(np.mean([b[:, 2].mean() for b in boxes])),
              frames=frames, extract_s=seconds, frames_per_s=frames / seconds,
              two_afc=evaluate(store, name))


def evaluate(store: Path, name: str) -> dict:
  """2AFC per seed of hrjax (each checkpoint) and CHROM on the store's test split."""
  out = {}
  for seed in FLAGS.seeds:
    workdir = Path(FLAGS.checkpoints.replace('{seed}', seed))
    report_dir = workdir / f'eval-detector-{name}'
    subprocess.run([sys.executable, '-m', 'hrjax.main', f'--config={FLAGS.config}',
                    f'--workdir={workdir}', f'--config.seed={seed}', '--mode=eval',
                    f'--config.data.store={store}', f'--report_dir={report_dir}',
                    '--noprogress'], check=True, stdout=subprocess.DEVNULL)
    methods = json.loads((report_dir / 'report.json').read_text())['methods']
    out[seed] = {m: methods[m]['two_afc'] for m in ('hrjax', 'chrom')}
    out['chrom_ci95'] = methods['chrom']['two_afc_ci95']
  return out


def plain_decoding(recordings: list) -> float:
  """Frames/s of decoding alone (ffmpeg to RGB frames, nothing else)."""
  t0, n = time.perf_counter(), 0
  for r in recordings:
    n += sum(1 for _ in video_io.iter_frames(r.video))
  return n / (time.perf_counter() - t0)


def _seeds(row: dict) -> dict[str, float]:
  return {k: v['hrjax'] for k, v in row['two_afc'].items() if k != 'chrom_ci95'}


def table(rows: list[dict], plain: float) -> str:
  lines = ['| detector | face share | raw jitter: centre, side (px, median) | crop box move: '
           'centre (px/frame, mean) | crop side (px) | extraction frames/s (x plain '
           'decoding) | hrjax 2AFC, mean ± sd over seeds | minus the first row, seed by seed | '
           'CHROM 2AFC [95% CI] |', '|' + ' --- |' * 9]
  first = _seeds(rows[0])
  for r in rows:
    hr = _seeds(r)
    diff = np.array([hr[k] - first[k] for k in hr if k in first])
    chrom = next(v['chrom'] for k, v in r['two_afc'].items() if k != 'chrom_ci95')
    lo, hi = r['two_afc']['chrom_ci95']
    sd = lambda x: np.std(x, ddof=1) if len(x) > 1 else 0.0
    lines.append(f"| {r['detector']} | {r['face_share']:.3f} | {r['raw_centre_px']:.2f}, "
                 f"{r['raw_side_px']:.2f} | {r['crop_centre_px']:.3f} | {r['crop_side']:.0f} | "
                 f"{r['frames_per_s']:.0f} ({r['frames_per_s'] / plain:.2f}x) | "
                 f"{np.mean(list(hr.values())):.3f} ± {sd(list(hr.values())):.3f} ({len(hr)}) | "
                 + ('-' if r is rows[0] else f'{diff.mean():+.3f} ± {sd(diff):.3f}, '
                    f'{(diff > 0).sum()} of {len(diff)} above')
                 + f" | {chrom:.3f} [{lo:.3f}, {hi:.3f}] |")
  return '\n'.join(lines + ['', f'Plain decoding: {plain:.0f} frames/s.'])


def main(argv):
  cli.start(argv)
  with cli.user_errors('compare_detectors'):
    recordings = adapters.find_recordings(FLAGS.dataset, FLAGS.root)
    plain = plain_decoding(recordings)
    rows = [detector_row(name, recordings) for name in FLAGS.detectors]
  text = table(rows, plain)
  print(text)
  if FLAGS.out:
    out = Path(FLAGS.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    command = 'python scripts/compare_detectors.py ' + ' '.join(sys.argv[1:])
    out.write_text(f'# Face detectors on {FLAGS.root}\n\n`{command}`\n\n{text}\n')
    out.with_suffix('.json').write_text(json.dumps(dict(rows=rows, plain_fps=plain), indent=1))


if __name__ == '__main__':
  app.run(main)
