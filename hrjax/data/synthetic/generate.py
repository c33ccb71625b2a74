"""Write a synthetic rPPG dataset to disk in the UBFC-rPPG layout.

  root/subjectN/vid.mp4          H.264 face video (lossy, like the public copies)
  root/subjectN/ground_truth.txt line 1 PPG, line 2 heart rate (bpm), line 3 time (s)
  root/subjectN/regions.npy      float16 [S, S, 5]: share of frames each pixel showed each
                                 face region (regions.REGION_NAMES), carried into the store
  root/synthetic.json            every subject's and recording's drawn parameters

Extraction then reads it exactly as it reads a real UBFC-rPPG folder. Several
recordings of one subject are written as `subjectN_rK` folders, which the
adapter maps back to subject N.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import tqdm

from hrjax.data import atomic, video_io, worker_pool
from hrjax.data.regions import REGIONS_FILE
from hrjax.data.synthetic import faces, physiology, presets, render


def recording_dir_name(subject: int, recording: int, recordings_per_subject: int) -> str:
  if recordings_per_subject == 1:
    return f'subject{subject}'
  return f'subject{subject}_r{recording}'


def _subject_params(seed: int, subject: int, knob_ranges: dict) -> dict:
  rng = np.random.default_rng([seed, subject, 0])
  lo, hi = knob_ranges['melanin']
  return dict(melanin=float(rng.uniform(lo, hi)), face_seed=int(rng.integers(2**31)))


def render_recording(out_dir: str, folder_name: str, seed: int, subject: int, recording: int,
                     knob_ranges: dict, duration_s: float, fps: float, size: int,
                     pulse_regions: str) -> dict:
  """Simulate and write one recording; returns its drawn parameters."""
  subj = _subject_params(seed, subject, knob_ranges)
  maps = faces.render_face_maps(np.random.default_rng(subj['face_seed']), size,
                                subj['melanin'], pulse_regions)
  rng = np.random.default_rng([seed, subject, recording + 1])
  knobs = presets.sample_knobs(rng, knob_ranges,
                               np.random.default_rng([seed, subject, recording + 1, 1]))
  knobs['melanin'] = subj['melanin']
  # Melanin absorbs light before it reaches blood: a weaker relative pulse.
  knobs['pulse_amp'] *= 1 - 0.4 * subj['melanin']
  n = int(round(duration_s * fps))
  t_frames = np.arange(n) / fps
  fine = np.arange(-2.0, duration_s + 2.0, 1 / 240)
  phys = physiology.simulate(rng, fine, knobs['bpm'])
  lag_s = knobs['lag_frames'] / fps
  # The camera integrates over its exposure: the face pulse is a smoothed, delayed PPG.
  kernel = np.ones(int(240 / fps)) / int(240 / fps)
  face_pulse_fine = np.convolve(phys.ppg, kernel, mode='same')
  face_pulse = np.interp(t_frames - lag_s, fine, face_pulse_fine)
  resp = np.interp(t_frames, fine, phys.resp)
  frames, occupancy = render.render_frames(rng, maps, t_frames, face_pulse, resp, knobs)
  folder = Path(out_dir) / folder_name
  folder.mkdir(parents=True, exist_ok=True)
  np.save(folder / REGIONS_FILE, occupancy.astype(np.float16))
  knobs['chroma'] = '420' if rng.random() < knobs['yuv420'] else 'rgb'
  # web_copy is a share of recordings: one a web copy when its own uniform draw falls below
  # the share drawn for the dataset's range (as yuv420 is, but from the encoding stream).
  web = np.random.default_rng([seed, subject, recording + 1, 2]).random() < knobs['web_copy']
  knobs['encoding'] = f'{knobs["kbit_s"]:.0f} kbit/s' if web else f'crf {round(knobs["crf"])}'
  if web:
    knobs['chroma'] = '420'
  video_io.write_video(folder / 'vid.mp4', frames, fps, crf=int(round(knobs['crf'])),
                       chroma=knobs['chroma'], kbit_s=knobs['kbit_s'] if web else None)
  ppg = np.interp(t_frames, fine, phys.ppg)
  hr = np.interp(t_frames, fine, phys.hr)
  with open(folder / 'ground_truth.txt', 'w') as f:
    for row in (ppg, hr, t_frames):
      f.write(' '.join(f'{x:.6e}' for x in row) + '\n')
  return dict(subject=subject, recording=recording, folder=folder.name,
              mean_bpm=float(hr.mean()), **knobs)


def _render(job: tuple) -> dict:
  return render_recording(*job)


def generate_dataset(root: str | os.PathLike, *, num_subjects: int, recordings_per_subject: int,
                     duration_s: float, fps: float, size: int, knob_ranges: dict, seed: int,
                     pulse_regions: str = 'all', workers: int = 0,
                     progress: bool = True) -> Path:
  """Write the whole dataset under `root`, atomically (temporary folder, then rename)."""
  root = Path(root)
  with atomic.atomic_folder(root) as tmp:
    jobs = [(str(tmp), recording_dir_name(s, r, recordings_per_subject), seed, s, r,
             knob_ranges, duration_s, fps, size, pulse_regions)
            for s in range(1, num_subjects + 1) for r in range(recordings_per_subject)]
    workers = worker_pool.worker_count(workers, len(jobs))
    done = (map(_render, jobs) if workers == 1 else
            worker_pool.ordered_results(_render, jobs, workers))
    records = list(tqdm.tqdm(done, total=len(jobs), desc='synthetic recordings',
                             disable=not progress))
    meta = dict(generator='hrjax.synthetic', seed=seed, fps=fps, size=size,
                duration_s=duration_s, pulse_regions=pulse_regions,
                knob_ranges={k: list(v) for k, v in knob_ranges.items()},
                knob_docs=presets.KNOB_DOCS, recordings=records)
    (tmp / 'synthetic.json').write_text(json.dumps(meta, indent=1))
  return root
