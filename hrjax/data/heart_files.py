"""Heart-signal files to `HeartSeries`: ECG in EDF/BDF, PPG waveforms, rate tables.

- ECG: EDF/EDF+/BDF/BDF+ through pyEDFlib; the channel chosen by name (or a
  bipolar pair such as `EXG1-EXG2`, as BioSemi amplifiers record ECG); an
  optional window between two trigger codes (BDF `Status` channel or EDF+
  annotations); R-peaks found by sleepecg's Pan-Tompkins detector and refined
  to the peak of the QRS complex.
- PPG/BVP: a CSV/text table (time and value, or values at a given sample rate)
  or a channel of an EDF/BDF file.
- Rate: a number, a CSV with one mean bpm, or a time,bpm table.
- Dataset files that hold a heart signal (`ubfc_pure_files.py`): UBFC-rPPG's
  `ground_truth.txt` and PURE's session JSON.

Times are seconds from the start of the file, or from the start trigger when a
window is given (PURE: from the first image): a time column counts from its first
sample, whatever clock the logger wrote (UBFC-rPPG's frame times start at 17 or 23 s in
some subjects). A heart file and a video are thus taken to have started together;
`offset_s` says otherwise (heart time = video time + offset_s), the same in extraction
and prediction. `read_heart` reads any of them, guessing the kind from the name. Every
problem is an `InputError` naming the file.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
from absl import logging
from scipy import signal

from hrjax.data import heart_series as heart
from hrjax.data import text_files
from hrjax.errors import InputError

EDF_EXTENSIONS = ('.edf', '.bdf')
STATUS_CHANNEL = 'Status'  # BioSemi's trigger channel; codes in its low 16 bits
HEART_KINDS = ('ecg', 'ppg', 'rate')  # what a manifest row or `read_heart_file` takes
SOURCE_KINDS = ('auto', *HEART_KINDS, 'ubfc', 'pure')  # and what `read_heart` takes


def is_number(text: str) -> bool:
  """Whether `text` is a plain non-negative number (a heart rate given as text, not a file)."""
  return re.fullmatch(r'\s*\d+(\.\d*)?\s*', str(text)) is not None


def repair_timestamps(t: np.ndarray, path: Path) -> np.ndarray:
  """Timestamps must not go backwards; a few repeated ones (a logging quirk of
  real recordings, e.g. UBFC subject 18, or the last two stamps of a file) are spread
  evenly between their neighbours, and repeats at the very end continue the last
  interval before them."""
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
    kept = np.flatnonzero(np.concatenate([[True], ~repeated]))  # two at least (the 1% above)
    t = np.interp(np.arange(len(t)), kept, t[kept])
    last, before = kept[-1], kept[-2]
    step = (t[last] - t[before]) / (last - before)  # the last interval: the end has no later one
    t[last + 1:] = t[last] + step * np.arange(1, len(t) - last)
  return t


def read_table(path: Path) -> np.ndarray:
  """A numeric CSV/text table `[rows, columns]`; a non-numeric first line is a header."""
  path = Path(path)
  lines = [ln for ln in text_files.read_text(path, 'heart file').splitlines() if ln.strip()]
  rows = []
  for lineno, line in enumerate(lines, start=1):
    cells = [c for c in re.split(r'[,;\s]+', line.strip()) if c]
    try:
      rows.append([float(c) for c in cells])
    except ValueError:
      if lineno == 1:
        continue  # a header
      raise InputError(path, f'line {lineno} holds something that is not a number') from None
  if not rows:
    raise InputError(path, 'no numbers in the file')
  if len({len(r) for r in rows}) != 1:
    raise InputError(path, 'rows differ in their number of columns')
  return np.array(rows, float)


def no_nans(path: Path, name: str, x: np.ndarray) -> None:
  bad = ~np.isfinite(x)
  if bad.any():
    raise InputError(path, f'{name} holds {int(bad.sum())} NaN or infinite values '
                     f'(first at sample {int(np.argmax(bad))})')


# -- EDF / BDF ------------------------------------------------------------------------------

def open_edf(path: Path):
  import pyedflib  # only EDF/BDF input needs it
  if not path.is_file():
    raise InputError(path, 'heart file not found')
  try:
    return pyedflib.EdfReader(str(path))
  except OSError as e:
    raise InputError(path, f'not a readable EDF/BDF file ({e})') from None


def _channel(reader, path: Path, name: str | None, guess: str,
             kind: str) -> tuple[np.ndarray, float]:
  """Samples and rate of a named channel or `A-B` pair; a guess by label when unnamed."""
  labels = [lab.strip() for lab in reader.getSignalLabels()]
  if not labels:
    raise InputError(path, f'no signal channels, only {len(reader.readAnnotations()[0])} '
                     f'annotations (an EDF+ of events): the {kind} must be in another file')
  lower = [lab.lower() for lab in labels]

  def index(label):
    if label.lower() not in lower:
      raise InputError(path, f'no channel {label!r}; channels present: {", ".join(labels)}')
    return lower.index(label.lower())

  if name is None:
    guesses = [i for i, lab in enumerate(lower) if re.search(guess, lab)]
    if len(guesses) != 1:
      raise InputError(path, f'cannot tell which channel holds the {kind} ({len(guesses)} '
                       f'candidates); name one; channels present: {", ".join(labels)}')
    parts = [guesses[0]]
  elif name.lower() in lower:
    parts = [index(name)]
  elif '-' in name:
    parts = [index(p.strip()) for p in name.split('-', 1)]
  else:
    parts = [index(name)]
  rates = {reader.getSampleFrequency(i) for i in parts}
  if len(rates) != 1:
    raise InputError(path, f'channels {name} differ in sample rate: {sorted(rates)}')
  x = reader.readSignal(parts[0]).astype(np.float64)
  if len(parts) == 2:
    x = x - reader.readSignal(parts[1])
  return x, float(rates.pop())


def trigger_events(reader, path: Path, status_channel: str = STATUS_CHANNEL
                   ) -> list[tuple[float, str]]:
  """(onset seconds, code) of every trigger: BDF Status channel changes, else EDF+ annotations."""
  labels = [lab.strip().lower() for lab in reader.getSignalLabels()]
  if status_channel.lower() in labels:
    i = labels.index(status_channel.lower())
    codes = reader.readSignal(i, digital=True).astype(np.int64) & 0xFFFF
    onsets = np.flatnonzero((codes[1:] != codes[:-1]) & (codes[1:] != 0)) + 1
    if codes[0] != 0:
      onsets = np.concatenate([[0], onsets])
    fs = reader.getSampleFrequency(i)
    return [(float(k / fs), str(int(codes[k]))) for k in onsets]
  onsets, _, texts = reader.readAnnotations()
  return [(float(t), str(text).strip()) for t, text in zip(onsets, texts)]


FIRST_TRIGGER = '*'  # as a start code: the first trigger of any code (MAHNOB-HCI's video start)


def _window(events: list[tuple[float, str]], path: Path, start_code: str | None,
            end_code: str | None) -> tuple[float, float]:
  """Seconds (start, end) between the first start code (FIRST_TRIGGER: any) and the next end
  code."""
  present = sorted({code for _, code in events})
  if start_code == FIRST_TRIGGER:
    if not events:
      raise InputError(path, 'its Status channel never leaves 0: when the video starts is '
                       'unknown')
    start_code = events[0][1]

  def first(code, after):
    for t, c in events:
      if c == str(code) and t >= after:
        return t
    raise InputError(path, f'no trigger {code!r}' + (f' after {after:.3f} s' if after else '') +
                     f'; codes present: {", ".join(present) or "none"}')

  start = first(start_code, 0.0) if start_code is not None else 0.0
  end = first(end_code, start) if end_code is not None else np.inf
  return start, end


def detect_r_peaks(ecg: np.ndarray, fs: float) -> np.ndarray:
  """R-peak sample indices: sleepecg's detector, then the QRS's largest |deflection|."""
  import sleepecg  # only ECG input needs it
  beats = np.asarray(sleepecg.detect_heartbeats(ecg - np.median(ecg), fs), int)
  sos = signal.butter(2, [5.0, min(30.0, 0.45 * fs)], btype='band', fs=fs, output='sos')
  qrs = np.abs(signal.sosfiltfilt(sos, ecg))
  half = max(1, int(0.05 * fs))  # search +-50 ms: within one QRS complex
  return np.array([b - half + int(np.argmax(qrs[max(0, b - half):b + half + 1]))
                   if b >= half else b for b in beats], int)


def read_ecg(path: str | Path, channel: str | None = None, start_code: str | None = None,
             end_code: str | None = None, status_channel: str = STATUS_CHANNEL
             ) -> heart.HeartSeries:
  """ECG from EDF/BDF to R-peaks, instantaneous rate and an ECG-derived pulse."""
  path = Path(path)
  if path.suffix.lower() not in EDF_EXTENSIONS:
    raise InputError(path, f'ECG must be an EDF or BDF file ({", ".join(EDF_EXTENSIONS)})')
  reader = open_edf(path)
  try:
    ecg, fs = _channel(reader, path, channel, r'ecg|ekg', 'ECG')
    start, end = 0.0, np.inf
    if start_code is not None or end_code is not None:
      start, end = _window(trigger_events(reader, path, status_channel), path, start_code,
                           end_code)
  finally:
    reader.close()
  no_nans(path, 'the ECG channel', ecg)
  end = min(end, len(ecg) / fs)
  if end - start < 5:
    raise InputError(path, f'only {max(0.0, end - start):.1f} s of ECG in the chosen window')
  # Beats up to 2 s beyond the window let the rate and pulse cover its edges.
  lo, hi = max(0, int((start - 2) * fs)), min(len(ecg), int((end + 2) * fs))
  if np.ptp(ecg[lo:hi]) == 0:
    raise InputError(path, 'the ECG channel is flat')
  beats = (lo + detect_r_peaks(ecg[lo:hi], fs)) / fs
  inside = (beats >= start) & (beats <= end)
  if inside.sum() < 3:
    raise InputError(path, f'only {inside.sum()} R-peaks found in {end - start:.1f} s of ECG')
  series = heart.from_beats(beats - start, start=0.0, end=end - start)
  return dataclasses.replace(series, beats=series.beats[inside])


def read_ppg(path: str | Path, fs: float | None = None, channel: str | None = None
             ) -> heart.HeartSeries:
  """A PPG/BVP waveform (rising with blood volume): table or EDF/BDF channel."""
  path = Path(path)
  if path.suffix.lower() in EDF_EXTENSIONS:
    reader = open_edf(path)
    try:
      ppg, rate = _channel(reader, path, channel, r'ppg|pleth|bvp|pulse', 'PPG')
    finally:
      reader.close()
    t = np.arange(len(ppg)) / rate
  else:
    table = read_table(path)
    if table.shape[1] >= 2:
      t, ppg = table[:, 0], table[:, 1]
      _time_column_rate(path, t, fs)
    elif fs:
      ppg = table[:, 0]
      t = np.arange(len(ppg)) / fs
    else:
      raise InputError(path, 'one column of PPG values and no sample rate: add a time column '
                       '(seconds) or give the sample rate (fs)')
  no_nans(path, 'the PPG', ppg)
  no_nans(path, 'the time column', t)
  if len(t) < 10:
    raise InputError(path, f'only {len(t)} PPG samples')
  t = repair_timestamps(t, path)
  return heart.from_ppg(t - t[0], ppg)


def _time_column_rate(path: Path, t: np.ndarray, fs: float | None) -> None:
  """A PPG table's time column must be in seconds and agree with a sample rate given
  beside it: a mismatch is named rather than one of them silently winning."""
  gaps = np.diff(t)
  gaps = gaps[np.isfinite(gaps) & (gaps > 0)]
  if not len(gaps):
    return  # repair_timestamps names what is wrong
  rate = 1.0 / float(np.median(gaps))
  if rate < 5:
    raise InputError(path, f'the time column gives {rate:.3g} samples per second, too few '
                     'for a pulse: are the times in milliseconds? (seconds expected)')
  if fs and abs(rate / fs - 1) > 0.02:
    raise InputError(path, f'the time column gives {rate:.2f} Hz but the sample rate given '
                     f'(fs) is {fs:g} Hz; give one of them, or the right one')


def read_rate(source: str | Path) -> heart.HeartSeries:
  """A heart rate: a number (bpm), a file with one number, or a time,bpm table."""
  always = np.array([-1e7, 1e7])  # a constant rate holds at any time
  if is_number(source):
    where, t, rates = 'the rate', always, np.full(2, float(source))
  else:
    where = Path(source)
    table = read_table(where)
    if table.size == 1:
      t, rates = always, np.full(2, table[0, 0])
    elif table.shape[1] == 2:
      t, rates = repair_timestamps(table[:, 0], where), table[:, 1]
      t = t - t[0]
    else:
      raise InputError(where, 'expected one bpm value or two columns (time in s, bpm)')
  no_nans(where, 'the heart rate', rates)
  if rates.min() < heart.MIN_BPM or rates.max() > 250:
    raise InputError(where, f'implausible heart rate {rates.min():.0f}-{rates.max():.0f} bpm')
  return heart.from_rate(t, rates)


def read_heart_file(source: str | Path, kind: str, channel: str | None = None,
                    start_code: str | None = None, end_code: str | None = None,
                    fs: float | None = None) -> heart.HeartSeries:
  """`source` read as one of HEART_KINDS, each with the options that apply to it."""
  if kind == 'ecg':
    return read_ecg(source, channel, start_code, end_code)
  if kind == 'ppg':
    return read_ppg(source, fs=fs, channel=channel)
  if kind == 'rate':
    return read_rate(source)
  raise ValueError(f'unknown heart kind {kind!r}; known: {", ".join(HEART_KINDS)}')


def guess_kind(source: str) -> str:
  """The heart file's kind from its name: EDF/BDF -> ecg, ground_truth.txt -> ubfc, ..."""
  path = Path(source)
  if is_number(source):
    return 'rate'
  if path.suffix.lower() in EDF_EXTENSIONS:
    return 'ecg'
  if path.name == 'ground_truth.txt':
    return 'ubfc'
  if path.suffix.lower() == '.json':
    return 'pure'
  table = read_table(path)
  return 'rate' if table.size == 1 else 'ppg'


def read_heart(source: str, kind: str = 'auto', channel: str | None = None,
               start_code: str | None = None, end_code: str | None = None,
               fs: float | None = None) -> tuple[heart.HeartSeries, str]:
  """The heart signal of any source (`SOURCE_KINDS`) on its own clock, and the kind it was
  read as."""
  kind = guess_kind(source) if kind == 'auto' else kind
  if kind in HEART_KINDS:
    return read_heart_file(source, kind, channel, start_code, end_code, fs), kind
  from hrjax.data import ubfc_pure_files  # it reads its tables through this module
  if kind == 'ubfc':  # on the clock of its video's first frame, as extraction reads it
    series = ubfc_pure_files.read_ubfc_heart(Path(source))
    t0 = float(series.t[0])
    return dataclasses.replace(series, t=series.t - t0, beats=series.beats - t0), kind
  if kind == 'pure':
    return ubfc_pure_files.read_pure_heart(Path(source)), kind
  raise ValueError(f'unknown heart kind {kind!r}; known: {", ".join(SOURCE_KINDS)}')
