"""The heart files of two dataset layouts: UBFC-rPPG's `ground_truth.txt` (PPG, rate and frame
times, one value per frame) and PURE's session JSON (frame and oximeter timestamps, the
waveform). Problems are `InputError`s naming the file.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np

from hrjax.data import heart_series as heart
from hrjax.data import text_files
from hrjax.data.heart_files import no_nans, repair_timestamps
from hrjax.errors import InputError


def _numbers(path: Path, line: str, lineno: int) -> np.ndarray:
  try:
    values = np.array(line.replace(',', ' ').split(), dtype=float)
  except ValueError:
    raise InputError(path, f'line {lineno} holds something that is not a number') from None
  return values


@functools.lru_cache(maxsize=4)  # the heart and the frame times come from one file
def read_ubfc_ground_truth(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """`ground_truth.txt`: PPG, heart rate, time (s); one value per video frame."""
  lines = [ln for ln in text_files.read_text(path, 'heart file').splitlines() if ln.strip()]
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


def read_ubfc_heart(path: Path) -> heart.HeartSeries:
  """The PPG of a `ground_truth.txt` on its time line; line 2 (the oximeter's own rate) is
  ignored: it disagrees badly with the waveform in some subjects."""
  ppg, _, t = read_ubfc_ground_truth(Path(path))
  return heart.from_ppg(t, ppg)


@functools.lru_cache(maxsize=4)  # the heart and the frame times come from one file
def read_pure_json(path: Path) -> dict:
  """A PURE session JSON: image timestamps, oximeter timestamps and waveform (seconds)."""
  if not path.is_file():
    raise InputError(path, 'heart file not found')
  try:
    data = json.loads(path.read_text())
    images = np.array([row['Timestamp'] for row in data['/Image']], float) * 1e-9
    pulse = data['/FullPackage']
    t = np.array([row['Timestamp'] for row in pulse], float) * 1e-9
    wave = np.array([row['Value']['waveform'] for row in pulse], float)
  except (json.JSONDecodeError, UnicodeDecodeError) as e:
    raise InputError(path, f'not valid JSON ({e})') from None
  except (KeyError, TypeError) as e:
    raise InputError(path, f'not a PURE JSON file: no {e} where "/Image" and "/FullPackage" '
                     'rows with "Timestamp" and "Value"/"waveform" belong') from None
  return dict(images=images, t=t, wave=wave)


def read_pure_heart(path: Path) -> heart.HeartSeries:
  """A PURE session's waveform, on the clock of its first image."""
  d = read_pure_json(Path(path))
  t0 = d['images'][0] if len(d['images']) else d['t'][0]
  no_nans(path, 'the waveform', d['wave'])
  return heart.from_ppg(repair_timestamps(d['t'] - t0, path), d['wave'])


def read_pure_frame_times(path: Path) -> np.ndarray | None:
  """A PURE session's image times from its first image, or None with fewer than two."""
  images = read_pure_json(Path(path))['images']
  return repair_timestamps(images - images[0], path) if len(images) > 1 else None
