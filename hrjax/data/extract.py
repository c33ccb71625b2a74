"""Recordings to a clip store: decode, crop, resample to a common frame rate, align, cut.

Splits are by subject: every clip of a subject lands in the same split.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import tqdm
from absl import logging

from hrjax.data import (
  adapters,
  clip_store,
  crop,
  face,
  face_crop,
  region_maps,
  resample,
  video_io,
  worker_pool,
)
from hrjax.data import heart_series as heart
from hrjax.data.regions import REGION_NAMES
from hrjax.errors import InputError


@dataclasses.dataclass(frozen=True)
class ExtractSettings:
  fps: float = 30.0  # every clip is resampled to this frame rate
  clip_frames: int = 128
  size: int = 36  # clips are size x size pixels
  # 'face' (a detected face), 'center' (a centred square) or 'none'. The centre by default, as
  # for the synthetic faces (centred, filling the frame); scripts/extract.py defaults to
  # 'face', for real recordings.
  crop: str = 'center'
  crop_fraction: float = 0.7  # side of the centred square / shorter frame side
  face_detector: str = 'haar'  # crop='face': 'haar' or 'mediapipe' (landmarks: region maps)
  face_python: str = ''  # face_detector='mediapipe': its Python ('': face_mesh.default_python)
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


class Clip(NamedTuple):
  video: np.ndarray  # uint8 [T, S, S, 3]
  heart: np.ndarray  # float32 [T, 2]: pulse, hr at the frame times
  rr: np.ndarray  # float32 [2]: mean RR (s), CV of RR
  row: dict  # the clip's clips.jsonl row
  start: int  # its first frame in the decoded video


@dataclasses.dataclass(frozen=True)
class Decoded:
  """A video cropped, resized and resampled to the settings' frame rate."""

  video: np.ndarray  # uint8 [F, S, S, 3]
  times: np.ndarray  # [F] seconds on the video's clock
  boxes: np.ndarray  # int [F, 4] the crop box (top, left, height, width) under each frame
  frame_hw: tuple[int, int]  # the source video's frame size
  notes: dict  # e.g. face_share: share of sampled frames with a face
  landmarks: face.Landmarks | None = None  # where the face detector gives them
  source_times: np.ndarray | None = None  # [frames] the decoded frames' own times, seconds


@worker_pool.one_blas_thread
def decode_video(video: str | Path, s: ExtractSettings, *, frame_times: np.ndarray | None = None,
                 name: str | None = None, heart_file: Path | None = None,
                 progress: bool = False) -> Decoded:
  """Decode, crop and area-resize every frame, then resample to `s.fps`.

  `frame_times`: each decoded frame's timestamp where the recording has them (else
  the container's frame rate sets them); `heart_file` is named when they disagree.
  With crop='face' the video is decoded once (`face_crop`: frames wait for their box).
  """
  if s.crop not in crop.CROPS:
    raise ValueError(f"crop must be one of {', '.join(crop.CROPS)}, got {s.crop!r}")
  video = Path(video)
  name = name or video.name
  info, frames_in = video_io.open_video(video, planes=True)
  notes = {}
  fixed = ((0, 0, info.height, info.width) if s.crop == 'none'
           else crop.center_box(info.height, info.width, s.crop_fraction))
  if s.crop == 'face':
    fs = face.FaceSettings(every=s.face_every, scale=s.face_scale, detector=s.face_detector,
                           face_python=s.face_python)
    small, boxes, notes['face_share'], landmarks = face_crop.face_crop(
        video, frames_in, info, fs, s.size, fixed if s.face_fallback == 'center' else None,
        name=name, progress=progress)
  else:
    resize = crop.CropResize(fixed, s.size)
    decoded = tqdm.tqdm(frames_in, desc=name, leave=False, disable=not progress, unit='frame')
    # float16 keeps an eighth of a grey level (the area average is finer than uint8) at half
    # the memory of float32: an hour at 30 fps and 36 pixels holds 0.8 GB until resampled.
    small = [resize(f).astype(np.float16) for f in decoded]
    boxes = np.tile(np.array(fixed, int), (len(small), 1))
    landmarks = None
  times = _frame_times(video, frame_times, heart_file, info, len(small))
  n = min(len(times), len(small))
  out = list(resample.resample_in_time(small[:n], times[:n], s.fps))
  out_t = np.array([t for t, _ in out])
  frames = np.clip(np.rint(np.stack([f for _, f in out]).astype(np.float32)), 0, 255)
  nearest = np.clip(np.searchsorted(times[:n], out_t), 0, n - 1)  # input frame under each
  out_boxes = boxes[nearest].reshape(-1, 4)
  return Decoded(frames.astype(np.uint8), out_t, out_boxes, (info.height, info.width), notes,
                 landmarks, times[:n])


def decode_recording(rec: adapters.Recording, s: ExtractSettings, progress: bool) -> Decoded:
  """`decode_video` of a dataset's recording, with its own frame times where it has them."""
  return decode_video(rec.video, s, frame_times=rec.frame_times(), name=rec.recording,
                      heart_file=rec.heart_file, progress=progress)


def _frame_times(video: Path, times: np.ndarray | None, heart_file: Path | None,
                 info: video_io.VideoInfo, decoded: int) -> np.ndarray:
  """Per-frame timestamps from the recording if it has them, else from the container's fps."""
  if times is not None and abs(len(times) - decoded) <= 2:
    return times  # off by a frame or two (a last frame the logger missed): the stamps hold
  if info.fps <= 0:
    raise InputError(video, f'an image folder needs frame timestamps: {decoded} frames, '
                     f'{0 if times is None else len(times)} timestamps')
  if times is not None:
    logging.warning('%s: %d timestamps for %d decoded frames; using the container fps %.3f',
                    heart_file, len(times), decoded, info.fps)
  elif (stamps := _variable_rate_stamps(video, info, decoded)) is not None:
    return stamps
  elif info.frames and abs(info.frames - decoded) > max(3, 0.02 * decoded):
    logging.warning('%s: the container states %d frames (%.2f s at %.3f fps) but %d decoded; '
                    'frame times assume %.3f fps', video, info.frames, info.duration_s,
                    info.fps, decoded, info.fps)
  return np.arange(decoded) / info.fps


def _variable_rate_stamps(video: Path, info: video_io.VideoInfo,
                          decoded: int) -> np.ndarray | None:
  """The container's frame times where they stray from a constant rate by over half a
  frame (a phone's variable-rate video), else None (constant rate: `fps` holds)."""
  stamps = video_io.frame_stamps(video)
  if stamps is None or len(stamps) != decoded or decoded < 2:
    return None
  gaps = np.diff(stamps)
  if gaps.min() <= 0 or np.max(np.abs(stamps - np.arange(decoded) / info.fps)) <= 0.5 / info.fps:
    return None
  logging.warning('%s: variable frame rate (%.1f to %.1f fps between frames); frame times '
                  'from the container', video, 1 / max(gaps.max(), 1e-6),
                  1 / max(gaps.min(), 1e-6))
  return stamps


def cut_clips(decoded: Decoded, series: heart.HeartSeries, stride: int, s: ExtractSettings, *,
              heart_file: Path, offset_s: float = 0.0, row: dict | None = None) -> list[Clip]:
  """Windows of `clip_frames` where the heart signal covers every frame with a valid rate.

  Heart time = video time + `offset_s`; `row` holds what every clip's row repeats
  (subject, recording, files); each clip adds its start, rate and whether it has a waveform.
  """
  frame_t = decoded.times
  heart_t = series.t - offset_s  # heart samples on the video's clock
  covered = (frame_t >= heart_t[0]) & (frame_t <= heart_t[-1])
  span = (f'heart signal ({max(heart_t[0], -1e4):.1f} to {min(heart_t[-1], 1e4):.1f} s on the '
          f"video's clock, offset {offset_s:g} s)")
  if covered.sum() < s.clip_frames:
    raise InputError(heart_file, f'{span} covers {covered.sum() / s.fps:.1f} s of the video '
                     f'({frame_t[0]:.1f}-{frame_t[-1]:.1f} s): less than one '
                     f'{s.clip_frames}-frame clip')
  if covered.mean() < 0.9:
    logging.warning('%s: %s covers only %.0f%% of the video; clips only where it does',
                    heart_file, span, 100 * covered.mean())
  shifted = dataclasses.replace(series, t=heart_t, beats=series.beats - offset_s)
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
    clip_row = dict(row or {}, start_s=round(float(frame_t[start]), 4), fps=s.fps,
                    mean_bpm=round(bpm, 2), has_waveform=has_wave)
    clips.append(Clip(decoded.video[window], h, rr, clip_row, start))
  return clips


def unlabeled_clips(decoded: Decoded, stride: int, s: ExtractSettings, row: dict) -> list[Clip]:
  """Windows of `clip_frames` over a video without a heart signal: its heart channels and RR
  summary zeros, its row `unlabeled` (only `train.unlabeled` may draw them)."""
  frames = len(decoded.times)
  return [Clip(decoded.video[start:start + s.clip_frames],
               np.zeros((s.clip_frames, len(heart.HEART_CHANNELS)), np.float32),
               np.zeros(2, np.float32),
               dict(row, start_s=round(float(decoded.times[start]), 4), fps=s.fps,
                    mean_bpm=None, has_waveform=False, unlabeled=True), start)
          for start in range(0, frames - s.clip_frames + 1, stride)]


def _at_least_one_clip(video: Path, decoded: Decoded, s: ExtractSettings) -> None:
  if len(decoded.times) < s.clip_frames:
    raise InputError(video, f'{len(decoded.times) / s.fps:.2f} s of video, shorter than one '
                     f'{s.clip_frames}-frame clip ({s.clip_frames / s.fps:.2f} s at {s.fps:g} fps)')


def video_clips(video: str | Path, series: heart.HeartSeries, heart_file: str | Path,
                s: ExtractSettings, offset_s: float = 0.0, progress: bool = False) -> list[Clip]:
  """Every non-overlapping clip of one video that its heart signal covers (heart time =
  video time + `offset_s`): what `hrjax.predict` scores for a user's own files."""
  video = Path(video)
  decoded = decode_video(video, s, name=video.name, heart_file=Path(heart_file),
                         progress=progress)
  _at_least_one_clip(video, decoded, s)
  return cut_clips(decoded, series, s.clip_frames, s, heart_file=Path(heart_file),
                   offset_s=offset_s, row=dict(recording=video.name, video=str(video),
                                               heart=str(heart_file)))


@worker_pool.one_blas_thread
def _recording_clips(rec: adapters.Recording, stride: int, s: ExtractSettings,
                     with_regions: bool, progress: bool) -> tuple[list[Clip], np.ndarray, dict]:
  """One recording's clips, their region maps (or None) and notes; InputError if unusable."""
  series = rec.load_heart()
  decoded = decode_recording(rec, s, progress=progress)
  _at_least_one_clip(rec.video, decoded, s)
  row = dict(subject=rec.subject, recording=rec.recording, video=str(rec.video),
             heart='' if rec.unlabeled else str(rec.heart_file), **rec.meta)
  if rec.unlabeled:
    clips = unlabeled_clips(decoded, stride, s, row)
  else:
    clips = cut_clips(decoded, series, stride, s, heart_file=rec.heart_file,
                      offset_s=rec.offset_s, row=row)
  if not clips:
    raise InputError(rec.video, f'no {s.clip_frames}-frame window with a valid heart signal '
                     f'({len(decoded.times)} frames at {s.fps} fps)')
  maps = region_maps.clip_region_maps(rec, decoded, clips, s) if with_regions else None
  return clips, maps, decoded.notes


def _clips_or_error(rec: adapters.Recording, stride: int, s: ExtractSettings,
                    with_regions: bool, progress: bool):
  """`_recording_clips`'s result, or the InputError that says why the recording is unusable
  (returned, so that it crosses from a worker process as a value)."""
  try:
    return _recording_clips(rec, stride, s, with_regions, progress)
  except InputError as e:
    return e


_WORKER = {}  # in a worker process: its own copy of the recordings and settings


def _worker_start(source: tuple, settings: ExtractSettings, with_regions: bool) -> None:
  """A worker finds the recordings itself (they hold the adapters' readers, which do not
  pickle) from (dataset, root, offsets)."""
  import cv2  # resizes every crop, and detects faces
  cv2.setNumThreads(1)  # its own thread pool in each worker would oversubscribe the cores
  video_io.DECODER_THREADS = 1  # and so would ffmpeg's: the workers already fill them
  _WORKER.update(recordings=adapters.find_recordings(*source), settings=settings,
                 with_regions=with_regions)


def _worker_clips(job: tuple[int, int]):
  index, stride = job
  return _clips_or_error(_WORKER['recordings'][index], stride, _WORKER['settings'],
                         _WORKER['with_regions'], progress=False)


def _recording_results(recordings, strides, s: ExtractSettings, with_regions: bool,
                       progress: bool, workers: int, source: tuple):
  """Each recording's `_clips_or_error`, in order: here, or in worker processes."""
  workers = worker_pool.worker_count(workers, len(recordings))
  if workers == 1:
    return (_clips_or_error(rec, stride, s, with_regions, progress)
            for rec, stride in zip(recordings, strides))
  return worker_pool.ordered_results(_worker_clips, enumerate(strides), workers,
                                     initializer=_worker_start,
                                     initargs=(source, s, with_regions))


def extract(dataset: str, root: str | Path, store: str | Path, settings: ExtractSettings,
            *, skip_bad: bool = False, progress: bool = True,
            offsets: dict[str, float] | None = None, workers: int = 1) -> dict:
  """Build the clip store at `store` from the dataset at `root`; returns a summary.

  `offsets` (recording -> seconds, heart time = video time + offset) override the
  adapter's. With `skip_bad`, unusable recordings are listed in the summary
  instead of stopping the extraction; either way no partial store remains.
  Where every recording has a region map, the store holds one per clip.
  `workers` processes decode recordings side by side (0: one per CPU); the store is the
  same as the serial path's.
  """
  if settings.crop == 'face':
    face.check_detector(face.FaceSettings(detector=settings.face_detector,
                                          face_python=settings.face_python))
  recordings = adapters.find_recordings(dataset, root, offsets)
  split_of = assign_splits([r.subject for r in recordings], settings.split_fractions,
                           settings.split_seed)
  with_regions = (all(r.regions is not None for r in recordings)
                  or (settings.crop == 'face' and settings.face_detector == 'mediapipe'))
  unlabeled = {r.unlabeled for r in recordings}
  if len(unlabeled) > 1:
    raise InputError(root, 'some recordings have a heart signal and some (kind none) do not: '
                     'a store holds one or the other; list them in two manifests')
  header = dict(dataset=dataset, root=str(Path(root).resolve()),
                settings=dataclasses.asdict(settings), heart_channels=list(heart.HEART_CHANNELS),
                fps=settings.fps,
                **clip_store.source_fingerprints(adapters.source_files(recordings), root),
                subjects={k: v for k, v in sorted(split_of.items())},
                region_names=list(REGION_NAMES) if with_regions else None,
                unlabeled=unlabeled == {True},
                created=time.strftime('%Y-%m-%dT%H:%M:%S'))
  taken, skipped = [], []
  with clip_store.StoreWriter(store, clip_frames=settings.clip_frames, size=settings.size,
                              channels=len(heart.HEART_CHANNELS), header=header,
                              regions=len(REGION_NAMES) if with_regions else 0) as writer:
    strides = [settings.train_stride if split_of[r.subject] == 'train' else
               settings.eval_stride for r in recordings]
    results = _recording_results(recordings, strides, settings, with_regions, progress,
                                 workers, (dataset, str(root), offsets))
    for rec, result in tqdm.tqdm(zip(recordings, results), total=len(recordings),
                                 desc=f'extract {dataset}', disable=not progress):
      split = split_of[rec.subject]
      if isinstance(result, InputError):
        if not skip_bad:
          raise result
        skipped.append(dict(recording=rec.recording, file=result.path, problem=result.problem))
        continue
      clips, maps, notes = result
      writer.splits[split].append(np.stack([c.video for c in clips]),
                                  np.stack([c.heart for c in clips]),
                                  np.stack([c.rr for c in clips]), [c.row for c in clips], maps)
      taken.append(dict(recording=rec.recording, subject=rec.subject, split=split,
                        clips=len(clips), **notes))
    if not taken:
      raise InputError(root, 'no recording could be used')
    writer.header['taken'], writer.header['skipped'] = taken, skipped
    counts = {split: w.count for split, w in writer.splits.items()}
  return dict(taken=taken, skipped=skipped, store=str(store), splits=counts)
