"""Recordings to a clip store: decode, crop, resample to a common frame rate, align, cut.

Splits are by subject: every clip of a subject lands in the same split.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from pathlib import Path

import numpy as np
import tqdm
from absl import logging

from hrjax.data import adapters, clip_store, face, frames, heart, video_io
from hrjax.data.video_io import InputError


@dataclasses.dataclass(frozen=True)
class ExtractSettings:
  fps: float = 30.0  # every clip is resampled to this frame rate
  clip_frames: int = 128
  size: int = 36  # clips are size x size pixels
  crop: str = 'center'  # 'face' (Haar detector), 'center' (a centred square) or 'none'
  crop_fraction: float = 0.7  # side of the centred square / shorter frame side
  face_every: int = 10  # crop='face': detect on every N-th frame, interpolate and smooth between
  face_scale: float = 1.5  # crop='face': square side / detected face side
  face_fallback: str = 'skip'  # crop='face' and no face found: 'skip' the recording or 'center'
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


def _face_boxes(rec: adapters.Recording, info: video_io.VideoInfo, s: ExtractSettings,
                progress: bool) -> tuple[np.ndarray | None, float]:
  """Per-frame face boxes (or None and a warning for a centre crop), share of detections."""
  fs = face.FaceSettings(every=s.face_every, scale=s.face_scale)
  small = video_io.iter_frames(rec.video, max_width=fs.detect_width)
  boxes, share, seen = face.track_faces(
      tqdm.tqdm(small, desc=f'{rec.recording}: faces', leave=False, disable=not progress,
                unit='frame'), (info.height, info.width), info.fps, fs)
  if boxes is None:
    sampled = (seen + fs.every - 1) // fs.every
    if s.face_fallback == 'skip':
      raise InputError(rec.video, f'no face found in any of {sampled} sampled frames '
                       '(face_fallback=center would crop the centre instead)')
    logging.warning('%s: no face found in any of %d sampled frames; cropping the centre',
                    rec.video, sampled)
  elif share < 0.5:
    logging.warning('%s: a face in only %.0f%% of sampled frames; boxes interpolated between',
                    rec.video, 100 * share)
  return boxes, share


def decode_recording(rec: adapters.Recording, s: ExtractSettings,
                     progress: bool) -> tuple[np.ndarray, np.ndarray, dict]:
  """Cropped, resized frames resampled to `s.fps`: (`uint8 [F, S, S, 3]`, times `[F]`, notes).

  With crop='face' the video is read twice: shrunk copies for the detector,
  then full frames for the crop (both streamed).
  """
  if s.crop not in ('face', 'center', 'none'):
    raise ValueError(f"crop must be 'face', 'center' or 'none', got {s.crop!r}")
  info, frames_in = video_io.open_video(rec.video)
  notes = {}
  boxes = None
  if s.crop == 'face':
    boxes, notes['face_share'] = _face_boxes(rec, info, s, progress)
  fixed = ((0, 0, info.height, info.width) if s.crop == 'none'
           else frames.center_box(info.height, info.width, s.crop_fraction))
  crop_at = functools.lru_cache(maxsize=64)(lambda box: frames.CropResize(box, s.size))
  decoded = tqdm.tqdm(frames_in, desc=rec.recording, leave=False,
                      disable=not progress, unit='frame')
  # float16 keeps an eighth of a grey level (the area average is finer than uint8) at half
  # the memory of float32: an hour at 30 fps and 36 pixels holds 0.8 GB until resampled.
  small = [crop_at(fixed if boxes is None else tuple(boxes[min(i, len(boxes) - 1)]))(f)
           .astype(np.float16) for i, f in enumerate(decoded)]
  times = _frame_times(rec, info, len(small))
  n = min(len(times), len(small))
  out = list(frames.resample_in_time(small[:n], times[:n], s.fps))
  out_t = np.array([t for t, _ in out])
  video = np.clip(np.rint(np.stack([f for _, f in out]).astype(np.float32)), 0, 255)
  return video.astype(np.uint8), out_t, notes


def _frame_times(rec: adapters.Recording, info: video_io.VideoInfo, decoded: int) -> np.ndarray:
  """Per-frame timestamps from the recording if it has them, else from the container's fps."""
  times = rec.frame_times()
  if times is not None and abs(len(times) - decoded) <= 2:
    return times  # off by a frame or two (a last frame the logger missed): the stamps hold
  if info.fps <= 0:
    raise InputError(rec.video, f'an image folder needs frame timestamps: {decoded} frames, '
                     f'{0 if times is None else len(times)} timestamps')
  if times is not None:
    logging.warning('%s: %d timestamps for %d decoded frames; using the container fps %.3f',
                    rec.heart_file, len(times), decoded, info.fps)
  elif info.frames and abs(info.frames - decoded) > max(3, 0.02 * decoded):
    logging.warning('%s: the container states %d frames (%.2f s at %.3f fps) but %d decoded; '
                    'frame times assume %.3f fps', rec.video, info.frames, info.duration_s,
                    info.fps, decoded, info.fps)
  return np.arange(decoded) / info.fps


def cut_clips(rec: adapters.Recording, video: np.ndarray, frame_t: np.ndarray,
              series: heart.HeartSeries, stride: int, s: ExtractSettings):
  """Windows of `clip_frames` where the heart signal covers every frame with a valid rate."""
  heart_t = series.t - rec.offset_s  # heart samples on the video's clock
  covered = (frame_t >= heart_t[0]) & (frame_t <= heart_t[-1])
  span = (f'heart signal ({max(heart_t[0], -1e4):.1f} to {min(heart_t[-1], 1e4):.1f} s on the '
          f"video's clock, offset {rec.offset_s:g} s)")
  if covered.sum() < s.clip_frames:
    raise InputError(rec.heart_file, f'{span} covers {covered.sum() / s.fps:.1f} s of the video '
                     f'({frame_t[0]:.1f}-{frame_t[-1]:.1f} s): less than one '
                     f'{s.clip_frames}-frame clip')
  if covered.mean() < 0.9:
    logging.warning('%s: %s covers only %.0f%% of the video; clips only where it does',
                    rec.heart_file, span, 100 * covered.mean())
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
            *, skip_bad: bool = False, progress: bool = True,
            offsets: dict[str, float] | None = None) -> dict:
  """Build the clip store at `store` from the dataset at `root`; returns a summary.

  `offsets` (recording -> seconds, heart time = video time + offset) override the
  adapter's. With `skip_bad`, unusable recordings are listed in the summary
  instead of stopping the extraction; either way no partial store remains.
  """
  recordings = adapters.find_recordings(dataset, root, offsets)
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
        video, frame_t, notes = decode_recording(rec, settings, progress=progress)
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
                        clips=len(rows), **notes))
    if not taken:
      raise InputError(root, 'no recording could be used')
    writer.header['taken'], writer.header['skipped'] = taken, skipped
    counts = {split: w.count for split, w in writer.splits.items()}
  return dict(taken=taken, skipped=skipped, store=str(store), splits=counts)
