"""MATLAB files that hold a whole recording (MMPD, SCAMPS): frames, the pulse, labels.

Version 5 files are read with scipy.io, version 7.3 files (HDF5 underneath) with
h5py, whose arrays come in the reverse of MATLAB's axis order (put back here).
A video held in a file is loaded whole: these datasets store it that way.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hrjax.errors import InputError

VIDEO_VARIABLES = ('video', 'Xsub')  # MMPD's frames, SCAMPS's frames (T, H, W, 3)


def _is_hdf5(path: Path) -> bool:
  import h5py
  return h5py.is_hdf5(path)


def names_and_shapes(path: Path) -> dict[str, tuple[int, ...]]:
  """Each variable's shape in MATLAB's axis order, read without loading the arrays."""
  path = Path(path)
  if not path.is_file():
    raise InputError(path, 'MATLAB file not found')
  try:
    if _is_hdf5(path):
      import h5py
      with h5py.File(path, 'r') as f:
        return {k: tuple(reversed(v.shape)) for k, v in f.items() if hasattr(v, 'shape')}
    from scipy import io
    return {name: tuple(shape) for name, shape, _ in io.whosmat(path)}
  except InputError:
    raise
  except Exception as e:  # scipy's readers raise many kinds on a broken file: all mean that
    raise InputError(path, f'cannot read it as a MATLAB file ({e})') from None


def read_variable(path: Path, name: str) -> np.ndarray:
  """One variable as a numpy array in MATLAB's axis order (text as a str array)."""
  path = Path(path)
  have = names_and_shapes(path)
  if name not in have:
    raise InputError(path, f'no variable {name!r} (it holds {", ".join(sorted(have)) or "none"})')
  try:
    if _is_hdf5(path):
      import h5py
      with h5py.File(path, 'r') as f:
        value = np.asarray(f[name][()])
        if f[name].attrs.get('MATLAB_class', b'') in (b'char', 'char'):
          return np.array(''.join(map(chr, value.ravel())))
        return value.transpose(*reversed(range(value.ndim)))
    from scipy import io
    return np.asarray(io.loadmat(path, variable_names=[name])[name])
  except (OSError, ValueError) as e:
    raise InputError(path, f'cannot read {name!r} ({e})') from None


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


def read_label(path: Path, name: str) -> str:
  """A label variable (text, a number or a logical) as text; '' where the file lacks it."""
  if name not in names_and_shapes(path):
    return ''
  value = np.asarray(read_variable(path, name)).ravel()
  if not len(value):
    return ''
  item = value[0]
  return str(item.item() if isinstance(item, np.generic) else item).strip()
