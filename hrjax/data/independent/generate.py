r"""Write a dataset of the independent generator in the UBFC-rPPG layout (a test set only).

  python -m hrjax.data.independent.generate --root data/independent/raw --subjects 40
  python scripts/extract.py --dataset ubfc_rppg --root data/independent/raw \
      --store data/independent/store --crop center --split_fractions=0,0,1

Each `subjectN/` holds `vid.mp4` and `ground_truth.txt` (fingertip PPG, heart rate,
frame times). Recording N's draws depend on (seed, N) only.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
from pathlib import Path

import numpy as np
import tqdm
from absl import app, flags

from hrjax.data import atomic
from hrjax.data.independent import camera, pulse, scene


def _lamp(rng, t):
  """Lamp colour over time `[T, 3]`: a colour temperature, slow drift, aliased flicker."""
  warm = rng.uniform(0, 1)
  rgb = np.array([1.0, 0.85 + 0.1 * (1 - warm), 0.6 + 0.4 * (1 - warm)])
  drift = 1 + rng.uniform(0, 0.06) * np.sin(2 * np.pi * rng.uniform(0.01, 0.1) * t + 1.0)
  flicker = 1 + rng.uniform(0, 0.01) * np.sin(2 * np.pi * rng.uniform(1, 14) * t)
  return rgb * (drift * flicker)[:, None]


def _screen(rng, t):
  """Light of a screen in front of the face `[T, 3]`: colours that change in steps."""
  level = rng.uniform(0, 0.35)
  out = np.zeros((len(t), 3))
  change = np.sort(rng.uniform(t[0], t[-1], rng.poisson(len(t) / 60)))
  colour = rng.uniform(0.3, 1, 3)
  for i, ti in enumerate(t):
    if len(change) and ti >= change[0]:
      colour, change = rng.uniform(0.3, 1, 3), change[1:]
    out[i] = colour
  return level * out


def _motion(rng, t, size, face_pulse):
  """Per-frame (dx, dy, blink, mouth opening, nod brightness)."""
  sway = rng.uniform(0, 0.015) * size
  dx = sway * np.sin(2 * np.pi * rng.uniform(0.05, 0.3) * t + rng.uniform(0, 6))
  nod = rng.uniform(0, 0.01) * size * np.sin(2 * np.pi * rng.uniform(0.2, 0.8) * t) * (
      rng.random() < 0.5)
  bcg = rng.uniform(0, 0.15) * face_pulse  # the head moves with each beat (pixels)
  dy = sway * np.sin(2 * np.pi * rng.uniform(0.05, 0.3) * t) + nod + bcg
  blink = np.zeros_like(t)
  for t0 in np.cumsum(rng.uniform(2, 6, 20)):
    blink[(t >= t0) & (t < t0 + 0.15)] = 1
  talking = rng.random() < 0.5
  syllables = np.clip(np.sin(2 * np.pi * rng.uniform(2, 5) * t), 0, 1)
  bursts = np.sin(2 * np.pi * rng.uniform(0.05, 0.2) * t) > 0
  return dx, dy, blink, syllables * bursts * talking, 1 + nod / size


def render_recording(out_dir: str, seed: int, subject: int, duration_s: float, fps: float,
                     size: int) -> float:
  """Render and write recording `subject`; returns its mean heart rate."""
  rng = np.random.default_rng([seed, subject])
  skin_type = int(rng.integers(0, len(scene.SKIN_TYPES)))
  layers = scene.build_layers(rng, size, skin_type)
  background = scene.room(rng, size)
  t = np.arange(int(round(duration_s * fps))) / fps
  heart = pulse.simulate(rng, t, rng.uniform(48, 140), lead_s=rng.uniform(0.0, 0.12))
  direction = np.array([rng.uniform(0.25, 0.55), 1.0, rng.uniform(0.35, 0.9)])
  amp = rng.uniform(0.003, 0.012) * (1 - 0.12 * skin_type)
  levels = np.stack([np.interp(t - 0.01 * k, t, heart.face) for k in range(scene.DELAY_LEVELS)])
  lamp, screen = _lamp(rng, t), _screen(rng, t)
  dx, dy, blink, mouth, nod = _motion(rng, t, size, heart.face)
  cam = camera.Webcam(rng, size, fps)
  stack = np.concatenate([layers.albedo, layers.shading[..., None], layers.perfusion[..., None],
                          layers.specular[..., None], layers.alpha[..., None],
                          layers.eyes[..., None], layers.mouth[..., None],
                          layers.delay[..., None].astype(np.float32)], -1)
  lo, hi = layers.pad, layers.pad + size
  frames = np.empty((len(t), size, size, 3), np.uint8)
  for i in range(len(t)):
    m = scene.shift(stack, dx[i], dy[i])[lo:hi, lo:hi]
    albedo, shade, perf, spec, alpha = (m[..., :3], m[..., 3:4], m[..., 4:5], m[..., 5:6],
                                        m[..., 6:7])
    albedo = albedo + blink[i] * m[..., 7:8] * (layers.skin * 0.9 - albedo)
    albedo = albedo * (1 - 0.85 * mouth[i] * m[..., 8:9])
    level = np.clip(np.rint(m[..., 9]), 0, scene.DELAY_LEVELS - 1).astype(int)
    p = levels[level, i][..., None]
    skin = albedo * (1 - amp * direction * perf * p)
    person = skin * (lamp[i] * (0.25 + shade) * nod[i] + screen[i]) + \
        0.3 * spec * lamp[i] * (1 + 5 * abs(dx[i] - dx[i - 1]) / size)
    radiance = person * alpha + background * lamp[i] * (1 - alpha)
    frames[i] = cam.capture(radiance)
  folder = Path(out_dir) / f'subject{subject}'
  folder.mkdir(parents=True)
  camera.encode(folder / 'vid.mp4', frames, fps, kbit_s=np.exp(rng.uniform(np.log(60),
                                                                          np.log(600))))
  with open(folder / 'ground_truth.txt', 'w') as f:
    for row in (heart.finger, heart.hr, t):
      f.write(' '.join(f'{x:.6e}' for x in row) + '\n')
  return float(heart.hr.mean())


def generate(root: str | os.PathLike, subjects: int, duration_s: float = 20.0,
             fps: float = 30.0, size: int = 128, seed: int = 7, workers: int = 0,
             progress: bool = True) -> Path:
  """Write the dataset under `root`, atomically (a temporary folder, then a rename)."""
  root = Path(root)
  with atomic.atomic_folder(root) as tmp:
    jobs = [(str(tmp), seed, s, duration_s, fps, size) for s in range(1, subjects + 1)]
    workers = workers or min(subjects, os.cpu_count() or 1)
    ctx = multiprocessing.get_context('spawn')
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=ctx) as pool:
      futures = [pool.submit(render_recording, *job) for job in jobs]
      for f in tqdm.tqdm(futures, desc='independent recordings', disable=not progress):
        f.result()
  return root


FLAGS = flags.FLAGS


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  generate(FLAGS.root, FLAGS.subjects, FLAGS.duration_s, seed=FLAGS.seed,
           workers=FLAGS.workers, progress=FLAGS.progress)


if __name__ == '__main__':
  flags.DEFINE_string('root', 'data/independent/raw', 'Folder to write (must not exist).')
  flags.DEFINE_integer('subjects', 40, 'Recordings, one per subject.')
  flags.DEFINE_float('duration_s', 20.0, 'Seconds per recording.')
  flags.DEFINE_integer('seed', 7, 'Seed of every draw.')
  flags.DEFINE_integer('workers', 0, 'Worker processes (0: one per core).')
  flags.DEFINE_boolean('progress', True, 'Show a progress bar.')
  app.run(main)
