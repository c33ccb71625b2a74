"""Dataset layouts to a list of recordings: which video, which heart signal, whose.

An adapter only finds files and parses heart signals; decoding, cropping and
cutting clips happen in `extract`. Select one by name: `ADAPTERS[name](root)`.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
from absl import logging

from hrjax.data import heart
from hrjax.data.video_io import InputError

VIDEO_EXTENSIONS = ('.avi', '.mp4', '.mkv', '.mov', '.m4v', '.webm', '.mpg', '.mpeg', '.wmv')


@dataclasses.dataclass(frozen=True)
class Recording:
  subject: str
  recording: str
  video: Path
  heart_file: Path
  load_heart: Callable[[], heart.HeartSeries]  # times on the video's clock (s)
  frame_times: Callable[[], np.ndarray | None] = lambda: None  # per-frame timestamps, if known
  offset_s: float = 0.0  # heart time = video time + offset_s


def _numbers(path: Path, line: str, lineno: int) -> np.ndarray:
  try:
    values = np.array(line.replace(',', ' ').split(), dtype=float)
  except ValueError:
    raise InputError(path, f'line {lineno} holds something that is not a number') from None
  return values


@functools.lru_cache(maxsize=4)  # the heart and the frame times come from one file
def read_ubfc_ground_truth(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """`ground_truth.txt`: PPG, heart rate, time (s); one value per video frame."""
  if not path.is_file():
    raise InputError(path, 'heart file not found')
  lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
  if len(lines) < 3:
    raise InputError(path, f'expected 3 lines (PPG, rate, time), found {len(lines)}')
  ppg, bpm, t = (_numbers(path, ln, i + 1) for i, ln in enumerate(lines[:3]))
  if not len(ppg) == len(bpm) == len(t):
    raise InputError(path, f'lines differ in length: {len(ppg)}, {len(bpm)}, {len(t)}')
  if len(t) < 2:
    raise InputError(path, 'fewer than two samples')
  if not (np.isfinite(ppg).all() and np.isfinite(t).all()):
    raise InputError(path, 'PPG or time line contains NaN or infinite values')
  return ppg, bpm, repair_timestamps(t, path)


def repair_timestamps(t: np.ndarray, path: Path) -> np.ndarray:
  """Timestamps must not go backwards; a few repeated ones (a logging quirk of
  real recordings, e.g. UBFC subject 18) are spread evenly between their neighbours."""
  d = np.diff(t)
  if np.any(d < 0):
    k = int(np.argmax(d < 0))
    raise InputError(path, f'timestamps go backwards at sample {k + 1}: {t[k]} -> {t[k + 1]}')
  repeated = d == 0
  if repeated.sum() > 0.01 * len(d):
    raise InputError(path, f'{int(repeated.sum())} repeated timestamps of {len(t)}')
  if repeated.any():
    logging.warning('%s: %d repeated timestamps, spread between their neighbours', path,
                    int(repeated.sum()))
    keep = np.concatenate([[True], ~repeated])
    t = np.interp(np.arange(len(t)), np.flatnonzero(keep), t[keep])
    if np.any(np.diff(t) <= 0):  # repeats at the very end have no later neighbour
      raise InputError(path, 'repeated timestamps at the end of the recording')
  return t


def _find_video(folder: Path) -> Path:
  videos = sorted(p for p in folder.iterdir() if p.suffix.lower() in VIDEO_EXTENSIONS)
  if not videos:
    raise InputError(folder, f'no video file ({", ".join(VIDEO_EXTENSIONS)}) in this folder')
  named = [p for p in videos if p.stem == 'vid']
  return (named or videos)[0]


def ubfc_rppg(root: Path) -> list[Recording]:
  """UBFC-rPPG: `subjectN/vid.<ext>` + `subjectN/ground_truth.txt` (also `subjectN_rK`)."""
  folders = sorted((p for p in Path(root).iterdir()
                    if p.is_dir() and re.fullmatch(r'subject\d+(_r\d+)?', p.name)),
                   key=lambda p: [int(x) for x in re.findall(r'\d+', p.name)])
  if not folders:
    raise InputError(root, 'no subjectN folders: not a UBFC-rPPG layout')
  recordings = []
  for folder in folders:
    gt = folder / 'ground_truth.txt'

    def load(gt=gt):
      ppg, _, t = read_ubfc_ground_truth(gt)
      return heart.from_ppg(t, ppg)  # line 2 (the oximeter's rate) is unreliable

    def times(gt=gt):
      return read_ubfc_ground_truth(gt)[2]

    subject = re.match(r'subject(\d+)', folder.name).group(1)
    recordings.append(Recording(subject=subject, recording=folder.name,
                                video=_find_video(folder), heart_file=gt,
                                load_heart=load, frame_times=times))
  return recordings


def read_rate_table(path: Path) -> dict[str, float]:
  """A CSV of one mean rate per subject: first column the subject, second the bpm.

  Tolerates a UTF-8 byte-order mark and spaces around cells (as in the
  bias-eval-rppg `ground_truth.csv`).
  """
  if not path.is_file():
    raise InputError(path, 'rate table not found')
  rows = [line.split(',') for line in path.read_text(encoding='utf-8-sig').splitlines()
          if line.strip()]
  rates = {}
  for lineno, row in enumerate(rows[1:], start=2):
    if len(row) < 2:
      raise InputError(path, f'line {lineno}: expected "subject,bpm"')
    try:
      bpm = float(row[1])
    except ValueError:
      raise InputError(path, f'line {lineno}: {row[1].strip()!r} is not a rate') from None
    if not np.isfinite(bpm) or not 20 <= bpm <= 250:
      raise InputError(path, f'line {lineno}: implausible heart rate {bpm}')
    rates[row[0].strip()] = bpm
  return rates


def roi_mean_hr(root: Path) -> list[Recording]:
  """Skin-region videos `videoN_<region>.<ext>` and one CSV of mean bpm per `videoN`.

  Each region video is a recording of subject N with a constant rate and no
  waveform (the `hr` representation). Extract with `--crop none`: the videos
  are skin regions already. Subjects in the CSV without videos are ignored.
  """
  root = Path(root)
  tables = sorted(root.glob('*.csv'))
  if len(tables) != 1:
    raise InputError(root, f'expected one CSV of mean rates, found {len(tables)}')
  rates = read_rate_table(tables[0])
  videos = sorted((p for p in root.iterdir() if p.suffix.lower() in VIDEO_EXTENSIONS and
                   re.fullmatch(r'video\d+_\w+', p.stem)),
                  key=lambda p: (int(re.search(r'\d+', p.stem).group()), p.stem))
  if not videos:
    raise InputError(root, 'no videoN_<region> video files: not a roi_mean_hr layout')
  recordings = []
  for video in videos:
    name = video.stem.split('_')[0]
    if name not in rates:
      raise InputError(tables[0], f'no heart rate for {name} (video {video.name})')

    def load(bpm=rates[name]):
      return heart.from_rate(np.array([-1e7, 1e7]), np.array([bpm, bpm]))

    recordings.append(Recording(subject=name[len('video'):], recording=video.stem, video=video,
                                heart_file=tables[0], load_heart=load))
  return recordings


ADAPTERS: dict[str, Callable[[Path], list[Recording]]] = {
    'ubfc_rppg': ubfc_rppg,
    'roi_mean_hr': roi_mean_hr,
}


def find_recordings(dataset: str, root: str | Path) -> list[Recording]:
  root = Path(root)
  if dataset not in ADAPTERS:
    raise InputError(root, f'unknown dataset layout {dataset!r}; known: {", ".join(ADAPTERS)}')
  if not root.is_dir():
    raise InputError(root, 'dataset folder not found')
  return ADAPTERS[dataset](root)
