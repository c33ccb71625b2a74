"""Dataset layouts to a list of recordings: which video, which heart signal, whose.

An adapter only finds files and parses heart signals; decoding, cropping and
cutting clips happen in `extract`. Select one by name: `ADAPTERS[name](root)`.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from hrjax.data import heart_files, public_datasets, recording, text_files, ubfc_pure_files
from hrjax.data import heart_series as heart
from hrjax.data.regions import REGIONS_FILE
from hrjax.errors import InputError

Recording = recording.Recording  # what every adapter returns (recording.py)
VIDEO_EXTENSIONS = recording.VIDEO_EXTENSIONS


def ubfc_rppg(root: Path) -> list[Recording]:
  """UBFC-rPPG: `subjectN/vid.<ext>` + `subjectN/ground_truth.txt` (also `subjectN_rK`)."""
  folders = recording.numbered_folders(root, r'subject\d+(_r\d+)?',
                                       'no subjectN folders: not a UBFC-rPPG layout')
  recordings = []
  for folder in folders:
    gt = folder / 'ground_truth.txt'

    subject = re.match(r'subject(\d+)', folder.name).group(1)
    regions = folder / REGIONS_FILE  # the synthetic generator writes one
    recordings.append(Recording(
        subject=subject, recording=folder.name, video=recording.find_video(folder), heart_file=gt,
        load_heart=lambda gt=gt: ubfc_pure_files.read_ubfc_heart(gt),
        frame_times=lambda gt=gt: ubfc_pure_files.read_ubfc_ground_truth(gt)[2],
        regions=regions if regions.is_file() else None))
  return recordings


def read_rate_table(path: Path) -> dict[str, float]:
  """A CSV of one mean rate per subject: first column the subject, second the bpm.

  Tolerates a UTF-8 byte-order mark and spaces around cells (as in the
  bias-eval-rppg `ground_truth.csv`).
  """
  rows = [line.split(',') for line in text_files.read_text(path, 'rate table').splitlines()
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


def pure(root: Path) -> list[Recording]:
  """PURE: per session `NN-MM/` holding a folder of `Image<ns>.png` frames (`NN-MM/NN-MM/`
  or the PNGs directly) and `NN-MM.json` (also `root/NN-MM.json`): the image timestamps
  and the pulse oximeter's waveform (~60 Hz), both in nanoseconds on one clock."""
  sessions = recording.numbered_folders(root, r'\d+-\d+',
                                        'no NN-MM session folders: not a PURE layout')
  recordings = []
  for folder in sessions:
    frames_dir = folder / folder.name if (folder / folder.name).is_dir() else folder
    js = next((p for p in (folder / f'{folder.name}.json', Path(root) / f'{folder.name}.json')
               if p.is_file()), folder / f'{folder.name}.json')
    recordings.append(pure_recording(js, frames_dir))
  return recordings


def pure_recording(js: Path, frames_dir: Path | None = None) -> Recording:
  """One PURE session from its JSON: heart and frame times on the first image's clock."""
  name = js.stem
  return Recording(subject=name.split('-')[0].lstrip('0') or '0', recording=name,
                   video=frames_dir or js.parent, heart_file=js,
                   load_heart=lambda: ubfc_pure_files.read_pure_heart(js),
                   frame_times=lambda: ubfc_pure_files.read_pure_frame_times(js))


MANIFEST_COLUMNS = ('subject', 'video', 'heart', 'kind')
MANIFEST_OPTIONAL = ('recording', 'offset_s', 'channel', 'fs', 'start_code', 'end_code')
MANIFEST_KINDS = (*heart_files.HEART_KINDS, 'none')


def read_manifest(path: Path) -> list[dict]:
  """Rows of a manifest CSV as dicts (header names stripped, lower case)."""
  rows = list(csv.reader(io.StringIO(text_files.read_text(path, 'manifest'), newline='')))
  rows = [[c.strip() for c in r] for r in rows if any(c.strip() for c in r)]
  if not rows:
    raise InputError(path, 'the manifest is empty')
  names = [c.lower() for c in rows[0]]
  missing = [c for c in MANIFEST_COLUMNS if c not in names]
  if missing:
    raise InputError(path, f'header lacks {", ".join(missing)}; expected columns '
                     f'{", ".join(MANIFEST_COLUMNS)} and optionally {", ".join(MANIFEST_OPTIONAL)}')
  unknown = [c for c in names if c not in MANIFEST_COLUMNS + MANIFEST_OPTIONAL]
  if unknown:
    raise InputError(path, f'unknown columns {", ".join(unknown)}')
  out = []
  for lineno, row in enumerate(rows[1:], start=2):
    if len(row) != len(names):
      raise InputError(path, f'line {lineno}: {len(row)} cells for {len(names)} columns')
    out.append(dict(zip(names, row), line=lineno))
  return out


def _manifest_recording(path: Path, row: dict, seen: set) -> Recording:
  where = f'line {row["line"]}'
  kind = row['kind'].lower()
  if kind not in MANIFEST_KINDS:
    raise InputError(path, f'{where}: kind {row["kind"]!r} is not one of '
                     f'{", ".join(MANIFEST_KINDS)}')
  video = (path.parent / row['video']).resolve()
  if kind == 'none':  # a video without a heart signal: for train.unlabeled only
    if row['heart']:
      raise InputError(path, f'{where}: kind none takes an empty heart cell, got '
                       f'{row["heart"]!r}')
    return Recording(subject=row['subject'], recording=_recording_name(path, row, seen),
                     video=video, heart_file=video, load_heart=lambda: None, unlabeled=True)
  heart_src = row['heart']
  if kind != 'rate' or not heart_files.is_number(heart_src):
    heart_src = (path.parent / heart_src).resolve()
  try:
    offset = float(row.get('offset_s') or 0.0)
    fs = float(row['fs']) if row.get('fs') else None
  except ValueError:
    raise InputError(path, f'{where}: offset_s and fs must be numbers') from None
  name = _recording_name(path, row, seen)
  opts = {k: row.get(k) or None for k in ('channel', 'start_code', 'end_code')}

  return Recording(subject=row['subject'], recording=name, video=video,
                   heart_file=Path(heart_src), offset_s=offset,
                   load_heart=lambda: heart_files.read_heart_file(heart_src, kind, fs=fs, **opts))


def _recording_name(path: Path, row: dict, seen: set) -> str:
  """A manifest row's recording name (default: the video's file stem), new to `seen`."""
  name = row.get('recording') or Path(row['video']).stem
  if name in seen:
    raise InputError(path, f'line {row["line"]}: recording name {name!r} used twice (add a '
                     'recording column)')
  seen.add(name)
  return name


def manifest(root: Path) -> list[Recording]:
  """A CSV (`--root` names it, or a folder holding one `manifest.csv`): one row per
  recording with subject, video, heart, kind (ecg, ppg or rate; none with an empty heart
  cell for videos without a heart signal, a store for `train.unlabeled`) and optionally
  recording, offset_s (heart time = video time + offset_s), channel, fs,
  start_code, end_code. Paths are relative to the manifest's folder."""
  path = Path(root)
  if path.is_dir():
    path = path / 'manifest.csv'
  rows = read_manifest(path)
  if not rows:
    raise InputError(path, 'the manifest lists no recordings')
  seen, lines = set(), {}
  recordings = [_manifest_recording(path, row, seen) for row in rows]
  for row, rec in zip(rows, recordings):
    if rec.video in lines:
      raise InputError(path, f'line {row["line"]}: video {row["video"]!r} is also on line '
                       f'{lines[rec.video]} (each video once: its clips would count twice)')
    lines[rec.video] = row['line']
  return recordings


ADAPTERS: dict[str, Callable[[Path], list[Recording]]] = {
    'ubfc_rppg': ubfc_rppg,
    'ubfc_phys': public_datasets.ubfc_phys,
    'cohface': public_datasets.cohface,
    'mmpd': public_datasets.mmpd,
    'scamps': public_datasets.scamps,
    'ibvp': public_datasets.ibvp,
    'vipl_hr': public_datasets.vipl_hr,
    'lgi_ppgi': public_datasets.lgi_ppgi,
    'mahnob_hci': public_datasets.mahnob_hci,
    'pure': pure,
    'roi_mean_hr': roi_mean_hr,
    'manifest': manifest,
}


def read_offsets(path: str | Path) -> dict[str, float]:
  """A CSV of `recording,offset_s` rows (heart time = video time + offset_s)."""
  path = Path(path)
  table = {}
  text = text_files.read_text(path, 'offsets file')
  for lineno, row in enumerate(csv.reader(io.StringIO(text, newline='')), start=1):
    row = [c.strip() for c in row]
    if not any(row) or (lineno == 1 and row[0].lower() == 'recording'):
      continue
    try:
      table[row[0]] = float(row[1])
    except (IndexError, ValueError):
      raise InputError(path, f'line {lineno}: expected "recording,offset_s"') from None
  return table


def source_files(recordings: list[Recording]) -> list[Path]:
  """The files (or frame folders) recordings read: each one's video and heart file."""
  return [p for r in recordings for p in (r.video, r.heart_file)]


def find_recordings(dataset: str, root: str | Path,
                    offsets: dict[str, float] | None = None) -> list[Recording]:
  """The recordings of a dataset; `offsets` (recording -> seconds) override their offsets."""
  root = Path(root)
  if dataset not in ADAPTERS:
    raise InputError(root, f'unknown dataset layout {dataset!r}; known: {", ".join(ADAPTERS)}')
  if not root.is_dir() and not (dataset == 'manifest' and root.is_file()):
    raise InputError(root, 'dataset folder not found')
  recordings = ADAPTERS[dataset](root)
  offsets = dict(offsets or {})
  unknown = set(offsets) - {r.recording for r in recordings}
  if unknown:
    raise InputError(root, 'offsets name recordings not in the dataset: ' +
                     ', '.join(sorted(unknown)))
  return [dataclasses.replace(r, offset_s=offsets[r.recording]) if r.recording in offsets else r
          for r in recordings]
