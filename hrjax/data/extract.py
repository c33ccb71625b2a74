"""Recordings to a clip store: decode, crop, resample to a common frame rate, align, cut.

Splits are by subject: every clip of a subject lands in the same split.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import tqdm
from absl import logging

from hrjax.data import adapters, clip_store, frames, heart, video_io
from hrjax.data.video_io import InputError


@dataclasses.dataclass(frozen=True)
class ExtractSettings:
  fps: float = 30.0  # every clip is resampled to this frame rate
  clip_frames: int = 128
  size: int = 36  # clips are size x size pixels
  crop: str = 'center'  # 'center' (a centred square) or 'none' (whole frame, squashed)
  crop_fraction: float = 0.7  # side of the centred square / shorter frame side
  train_stride: int = 32  # frames between clip starts in the training split
  eval_stride: int = 128  # in val/test: no overlap, so clips are distinct trials
  split_fractions: tuple = (0.7, 0.1, 0.2)  # train, val, test, over subjects
  split_seed: int = 0

  @classmethod
  def from_config(cls, cfg) -> 'ExtractSettings':
    names = {f.name for f in dataclasses.fields(cls)}
    values = {k: v for k, v in dict(cfg).items() if k in names}
    if 'split_fractions' in values:
      values['split_fractions'] = tuple(values['split_fractions'])
    return cls(**values)


def assign_splits(subjects: list[str], fractions, seed: int) -> dict[str, str]:
  """Subject -> split, by a seeded permutation; val and test get one subject at least."""
  subjects = sorted(set(subjects), key=lambda s: (len(s), s))
  n = len(subjects)
  f_train, f_val, f_test = (float(f) for f in fractions)
  total = f_train + f_val + f_test
  n_test = max(1, int(round(n * f_test / total))) if f_test > 0 else 0
  n_val = max(1, int(round(n * f_val / total))) if f_val > 0 else 0
  if f_train == 0:  # an evaluation-only store: (0, 0, 1) puts everyone in test
    n_test = n - n_val
  if (f_train > 0 and n - n_test - n_val < 1) or n_test + n_val > n:
    raise ValueError(f'{n} subjects cannot fill the splits {tuple(fractions)} '
                     '(train, val, test) subject-disjointly')
  order = np.random.default_rng(seed).permutation(n)
  split_of = {}
  for rank, i in enumerate(order):
    split_of[subjects[i]] = 'test' if rank < n_test else 'val' if rank < n_test + n_val else 'train'
  return split_of


def decode_recording(rec: adapters.Recording, s: ExtractSettings,
                     progress: bool) -> tuple[np.ndarray, np.ndarray]:
  """Cropped, resized frames resampled to `s.fps`: (`uint8 [F, S, S, 3]`, times `[F]`)."""
  info = video_io.probe(rec.video)
  if s.crop == 'center':
    box = frames.center_box(info.height, info.width, s.crop_fraction)
  elif s.crop == 'none':
    box = (0, 0, info.height, info.width)
  else:
    raise ValueError(f"crop must be 'center' or 'none', got {s.crop!r}")
  crop = frames.CropResize(box, s.size)
  small = [crop(f) for f in tqdm.tqdm(video_io.iter_frames(rec.video), desc=rec.recording,
                                       leave=False, disable=not progress, unit='frame')]
  times = rec.frame_times()
  if times is not None and abs(len(times) - len(small)) <= 2:
    # Off by a frame or two (a last frame the logger missed): the stamps still hold.
    n = min(len(times), len(small))
    times, small = times[:n], small[:n]
  elif times is not None:
    logging.warning('%s: %d timestamps for %d decoded frames; using the container fps %.3f',
                    rec.heart_file, len(times), len(small), info.fps)
    times = None
  if times is None:
    times = np.arange(len(small)) / info.fps
  out = list(frames.resample_in_time(small, times, s.fps))
  out_t = np.array([t for t, _ in out])
  video = np.clip(np.rint(np.stack([f for _, f in out]).astype(np.float32)), 0, 255)
  return video.astype(np.uint8), out_t


def cut_clips(rec: adapters.Recording, video: np.ndarray, frame_t: np.ndarray,
              series: heart.HeartSeries, stride: int, s: ExtractSettings):
  """Windows of `clip_frames` where the heart signal covers every frame with a valid rate."""
  heart_t = series.t - rec.offset_s  # heart samples on the video's clock
  covered = (frame_t >= heart_t[0]) & (frame_t <= heart_t[-1])
  if not covered.any():
    raise InputError(rec.heart_file, f'heart signal ({heart_t[0]:.1f}-{heart_t[-1]:.1f} s) '
                     f'does not overlap the video ({frame_t[0]:.1f}-{frame_t[-1]:.1f} s)')
  shifted = dataclasses.replace(series, t=heart_t, beats=series.beats - rec.offset_s)
  hr = np.interp(frame_t, heart_t, series.hr)
  valid = covered & np.isfinite(hr)
  clips = []
  for start in range(0, len(frame_t) - s.clip_frames + 1, stride):
    window = slice(start, start + s.clip_frames)
    if not valid[window].all():
      continue
    h, has_wave = heart.at_frames(shifted, frame_t[window])
    bpm = float(h[:, 1].mean())
    rr = heart.rr_summary(shifted.beats, frame_t[window][0], frame_t[window][-1], bpm)
    row = dict(subject=rec.subject, recording=rec.recording, video=str(rec.video),
               heart=str(rec.heart_file), start_s=round(float(frame_t[start]), 4),
               fps=s.fps, mean_bpm=round(bpm, 2), has_waveform=has_wave)
    clips.append((video[window], h, rr, row))
  return clips


def extract(dataset: str, root: str | Path, store: str | Path, settings: ExtractSettings,
            *, skip_bad: bool = False, progress: bool = True) -> dict:
  """Build the clip store at `store` from the dataset at `root`; returns a summary."""
  recordings = adapters.find_recordings(dataset, root)
  split_of = assign_splits([r.subject for r in recordings], settings.split_fractions,
                           settings.split_seed)
  header = dict(dataset=dataset, root=str(Path(root).resolve()),
                settings=dataclasses.asdict(settings), heart_channels=list(heart.HEART_CHANNELS),
                fps=settings.fps,
                fingerprint=clip_store.fingerprint_files(
                    [p for r in recordings for p in (r.video, r.heart_file) if p.is_file()]),
                subjects={k: v for k, v in sorted(split_of.items())},
                created=time.strftime('%Y-%m-%dT%H:%M:%S'))
  taken, skipped = [], []
  with clip_store.StoreWriter(store, clip_frames=settings.clip_frames, size=settings.size,
                              channels=len(heart.HEART_CHANNELS), header=header) as writer:
    for rec in tqdm.tqdm(recordings, desc=f'extract {dataset}', disable=not progress):
      split = split_of[rec.subject]
      stride = settings.train_stride if split == 'train' else settings.eval_stride
      try:
        series = rec.load_heart()
        video, frame_t = decode_recording(rec, settings, progress=False)
        clips = cut_clips(rec, video, frame_t, series, stride, settings)
        if not clips:
          raise InputError(rec.video, f'no {settings.clip_frames}-frame window with a valid '
                           f'heart signal ({len(frame_t)} frames at {settings.fps} fps)')
      except InputError as e:
        if not skip_bad:
          raise
        skipped.append(dict(recording=rec.recording, file=e.path, problem=e.problem))
        continue
      v, h, rr, rows = zip(*clips)
      writer.splits[split].append(np.stack(v), np.stack(h), np.stack(rr), list(rows))
      taken.append(dict(recording=rec.recording, subject=rec.subject, split=split,
                        clips=len(rows)))
    if not taken:
      raise InputError(root, 'no recording could be used')
    writer.header['taken'], writer.header['skipped'] = taken, skipped
    counts = {split: w.count for split, w in writer.splits.items()}
  return dict(taken=taken, skipped=skipped, store=str(store), splits=counts)
