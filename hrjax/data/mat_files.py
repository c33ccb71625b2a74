"""MATLAB files that hold a whole recording (MMPD, SCAMPS): frames, the pulse, labels.

Version 5 files are read with scipy.io, version 7.3 files (HDF5 underneath) with
h5py, whose arrays come in the reverse of MATLAB's axis order (put back here).
A video held in a file is loaded whole: these datasets store it that way.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from hrjax.errors import InputError

VIDEO_VARIABLES = ('video', 'Xsub')  # MMPD's frames, SCAMPS's frames (T, H, W, 3)


def _is_hdf5(path: Path) -> bool:
  import h5py
  return h5py.is_hdf5(path)


def names_and_shapes(path: Path) -> dict[str, tuple[int, ...]]:
  """Each variable's shape in MATLAB's axis order, read without loading the arrays (once
  per file as it stands: the frames, the pulse and the labels all ask)."""
  path = Path(path)
  if not path.is_file():
    raise InputError(path, 'MATLAB file not found')
  stat = path.stat()
  return dict(_names_and_shapes(str(path), stat.st_size, stat.st_mtime_ns))


@functools.lru_cache(maxsize=64)
def _names_and_shapes(path: str, size: int, mtime_ns: int) -> tuple:
  del size, mtime_ns  # the cache's key: a file rewritten is read again
  try:
    if _is_hdf5(Path(path)):
      import h5py
      with h5py.File(path, 'r') as f:
        return tuple((k, tuple(reversed(v.shape))) for k, v in f.items() if hasattr(v, 'shape'))
    from scipy import io
    return tuple((name, tuple(shape)) for name, shape, _ in io.whosmat(path))
  except Exception as e:  # scipy's readers raise many kinds on a broken file: all mean that
    raise InputError(Path(path), f'cannot read it as a MATLAB file ({e})') from None


def read_variables(path: Path, names: list[str]) -> dict[str, np.ndarray]:
  """Variables as numpy arrays in MATLAB's axis order (text as a str array), in one read."""
  path = Path(path)
  have = names_and_shapes(path)
  for name in names:
    if name not in have:
      raise InputError(path, f'no variable {name!r} (it holds '
                       f'{", ".join(sorted(have)) or "none"})')
  try:
    if _is_hdf5(path):
      import h5py
      with h5py.File(path, 'r') as f:
        return {name: _from_hdf5(f[name]) for name in names}
    from scipy import io
    loaded = io.loadmat(path, variable_names=list(names))
    return {name: np.asarray(loaded[name]) for name in names}
  except (OSError, ValueError) as e:
    raise InputError(path, f'cannot read {", ".join(map(repr, names))} ({e})') from None


def _from_hdf5(dataset) -> np.ndarray:
  value = np.asarray(dataset[()])
  if dataset.attrs.get('MATLAB_class', b'') in (b'char', 'char'):
    return np.array(''.join(map(chr, value.ravel())))
  return value.transpose(*reversed(range(value.ndim)))


def read_variable(path: Path, name: str) -> np.ndarray:
  """One variable (`read_variables`)."""
  return read_variables(path, [name])[name]


def video_variable(path: Path) -> str:
  """The name of the file's frames (`VIDEO_VARIABLES`), or an InputError naming the file."""
  have = names_and_shapes(path)
  for name in VIDEO_VARIABLES:
    if name in have and len(have[name]) == 4 and have[name][-1] == 3:
      return name
  raise InputError(path, f'no frames: expected one of {", ".join(VIDEO_VARIABLES)} as a '
                   f'[frames, height, width, 3] array (it holds {", ".join(sorted(have))})')


def frame_count(path: Path) -> int:
  return names_and_shapes(path)[video_variable(path)][0]


def read_frames(path: Path) -> np.ndarray:
  """`uint8 [T, H, W, 3]`: the file's frames; floats are taken to be in [0, 1]."""
  frames = read_variable(path, video_variable(path))
  if frames.dtype == np.uint8:
    return frames
  if not np.isfinite(frames).all():
    raise InputError(path, 'the frames hold NaN or infinite values')
  return np.clip(np.rint(frames * 255.0), 0, 255).astype(np.uint8)


def read_labels(path: Path, names: tuple[str, ...]) -> dict[str, str]:
  """The label variables the file holds (text, a number or a logical) as text, in one read;
  those it lacks or that are empty are left out."""
  present = [name for name in names if name in names_and_shapes(path)]
  out = {}
  for name, value in (read_variables(path, present) if present else {}).items():
    value = np.asarray(value).ravel()
    if len(value):
      item = value[0]
      if text := str(item.item() if isinstance(item, np.generic) else item).strip():
        out[name] = text
  return out
