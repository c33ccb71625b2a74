"""The clip store: pre-extracted clips per split, memory-mappable, no pickle.

  STORE/header.json            format version, shapes, settings, source fingerprint, splits
  STORE/<split>/video.npy      uint8   [N, T, S, S, 3]  RGB clips
  STORE/<split>/heart.npy      float32 [N, T, 2]        pulse, hr at frame times
  STORE/<split>/rr.npy         float32 [N, 2]           mean RR (s), CV of RR
  STORE/<split>/clips.jsonl    one row per clip: subject, recording, sources, start, fps, bpm
  STORE/<split>/regions.npy    float16 [N, S, S, R]       region map per clip, where the
                                                          source has one (regions.py)

A store is written under a temporary name and renamed when complete, so a
crash leaves nothing that looks like a store.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import mmap
import os
from pathlib import Path

import numpy as np

from hrjax.data import atomic

FORMAT_VERSION = 1
SPLITS = ('train', 'val', 'test')
_HEADER_BYTES = 256  # fixed .npy header size, so the shape can be patched in place


def _npy_header(shape: tuple, dtype: np.dtype) -> bytes:
  d = {'descr': np.lib.format.dtype_to_descr(np.dtype(dtype)), 'fortran_order': False,
       'shape': tuple(shape)}
  body = repr(d).encode('latin1')
  pad = _HEADER_BYTES - 10 - len(body) - 1
  return b'\x93NUMPY\x01\x00' + (_HEADER_BYTES - 10).to_bytes(2, 'little') + body + (
      b' ' * pad) + b'\n'


class _AppendArray:
  """An .npy file grown by appending rows; its header is rewritten on close."""

  def __init__(self, path: Path, row_shape: tuple, dtype):
    self.path, self.row_shape, self.dtype, self.rows = path, tuple(row_shape), np.dtype(dtype), 0
    self.file = open(path, 'wb')
    self.file.write(_npy_header((0, *self.row_shape), self.dtype))

  def append(self, rows: np.ndarray) -> None:
    rows = np.ascontiguousarray(rows, dtype=self.dtype)
    if rows.shape[1:] != self.row_shape:
      raise ValueError(f'{self.path.name}: row shape {rows.shape[1:]} != {self.row_shape}')
    with named(self.path):
      self.file.write(rows.tobytes())
    self.rows += len(rows)

  def close(self) -> None:
    with named(self.path):
      try:
        self.file.seek(0)
        self.file.write(_npy_header((self.rows, *self.row_shape), self.dtype))
      finally:
        self.file.close()


@contextlib.contextmanager
def named(path: Path):
  """An OSError without a file name (a full disk on `write`) re-raised naming `path`."""
  try:
    yield
  except OSError as e:
    if e.filename is not None:
      raise
    raise OSError(e.errno, e.strerror, str(path)) from e


class SplitWriter:
  def __init__(self, folder: Path, clip_frames: int, size: int, channels: int, regions: int = 0):
    folder.mkdir(parents=True)
    self.folder = folder
    self.video = _AppendArray(folder / 'video.npy', (clip_frames, size, size, 3), np.uint8)
    self.heart = _AppendArray(folder / 'heart.npy', (clip_frames, channels), np.float32)
    self.rr = _AppendArray(folder / 'rr.npy', (2,), np.float32)
    self.regions = (_AppendArray(folder / 'regions.npy', (size, size, regions), np.float16)
                    if regions else None)
    self.rows = open(folder / 'clips.jsonl', 'w')
    self.count = 0

  def append(self, video: np.ndarray, heart: np.ndarray, rr: np.ndarray, rows: list[dict],
             regions: np.ndarray | None = None):
    if (regions is None) != (self.regions is None):
      raise ValueError(f'{self.folder}: region maps given for a store without them, or not '
                       'given for one with them')
    self.video.append(video)
    self.heart.append(heart)
    self.rr.append(rr)
    if regions is not None:
      self.regions.append(regions)
    for row in rows:
      self.rows.write(json.dumps(row) + '\n')
    self.count += len(rows)

  def close(self) -> None:
    for part in (self.video, self.heart, self.rr, self.regions, self.rows):
      if part is not None:
        part.close()


class StoreWriter:
  """Context manager: writes into a temporary folder (`atomic.atomic_folder`), renamed to
  `STORE` on success only."""

  def __init__(self, path: str | os.PathLike, *, clip_frames: int, size: int, channels: int,
               header: dict, regions: int = 0):
    self.path = Path(path)  # `atomic_folder` refuses one that exists
    self.shape = dict(clip_frames=clip_frames, size=size, channels=channels)
    self.regions = regions  # channels of the per-clip region maps; 0: none
    self.header = header
    self.splits: dict[str, SplitWriter] = {}

  def __enter__(self):
    self._folder = atomic.atomic_folder(self.path)
    self.tmp = self._folder.__enter__()
    for split in SPLITS:
      self.splits[split] = SplitWriter(self.tmp / split, **self.shape, regions=self.regions)
    return self

  def __exit__(self, exc_type, exc, tb):
    try:
      for w in self.splits.values():
        w.close()
      if exc_type is None:
        header = dict(self.header, format_version=FORMAT_VERSION, **self.shape,
                      splits={s: w.count for s, w in self.splits.items()})
        (self.tmp / 'header.json').write_text(json.dumps(header, indent=1))
    except BaseException as e:
      self._folder.__exit__(type(e), e, e.__traceback__)
      raise
    self._folder.__exit__(exc_type, exc, tb)
    return False


@dataclasses.dataclass(frozen=True)
class Split:
  """One split, memory-mapped."""

  video: np.ndarray  # uint8 [N, T, S, S, 3]
  heart: np.ndarray  # float32 [N, T, 2]
  rr: np.ndarray  # float32 [N, 2]
  rows: list[dict]
  header: dict
  regions: np.ndarray | None = None  # float16 [N, S, S, R] region maps, where the store has them

  def __len__(self) -> int:
    return len(self.rows)

  @property
  def subjects(self) -> np.ndarray:
    return np.array([r['subject'] for r in self.rows])


def read_header(path: str | os.PathLike) -> dict:
  header_path = Path(path) / 'header.json'
  if not header_path.is_file():
    raise FileNotFoundError(f'{path}: not a clip store (no header.json)')
  header = json.loads(header_path.read_text())
  if header.get('format_version') != FORMAT_VERSION:
    raise ValueError(f'{path}: store format {header.get("format_version")}, '
                     f'this hrjax reads {FORMAT_VERSION}; extract it again')
  return header


def check_labeled(path: str | os.PathLike, use: str) -> None:
  """ValueError naming `path` when its store holds videos without a heart signal (a manifest
  of kind none) and `use` (what it was asked to be) needs one."""
  if read_header(path).get('unlabeled', False):
    raise ValueError(f'{path}: its videos have no heart signal (extracted from kind none); '
                     f'it cannot be {use}, only a train.unlabeled store')


def open_split(path: str | os.PathLike, split: str) -> Split:
  header = read_header(path)
  folder = Path(path) / split
  rows = [json.loads(line) for line in (folder / 'clips.jsonl').read_text().splitlines()]
  arrays = {name: np.load(folder / f'{name}.npy', mmap_mode='r', allow_pickle=False)
            for name in ('video', 'heart', 'rr')}
  if (folder / 'regions.npy').is_file():
    arrays['regions'] = np.load(folder / 'regions.npy', mmap_mode='r', allow_pickle=False)
  if any(len(a) != len(rows) for a in arrays.values()):
    raise ValueError(f'{folder}: arrays and clips.jsonl disagree in length')
  return Split(rows=rows, header=header, **arrays)


def read_row(array: np.ndarray, index: int, out: np.ndarray | None = None) -> np.ndarray:
  """Row `index` of a store array, as an array of the process's own (`out`, where given: a
  contiguous array of the row's shape and dtype, such as a row of a batch).

  A memory-mapped row is read with pread, not through the map: pages read through a map
  stay in the process's resident set until the kernel wants them back, so a training run
  that draws clips from the whole train split would count the split in its RSS. Read
  this way they stay in the page cache only (shared, given back under pressure)."""
  whole_map = isinstance(array, np.memmap) and isinstance(array.base, mmap.mmap)  # not a view
  if not (whole_map and array.filename and array.flags.c_contiguous):
    if out is None:
      return np.array(array[index])
    out[...] = array[index]
    return out
  if out is None:
    out = np.empty(array.shape[1:], array.dtype)
  offset = array.offset + int(index) * out.nbytes
  fd = os.open(array.filename, os.O_RDONLY)
  try:
    got = os.preadv(fd, [memoryview(out).cast('B')], offset)
  finally:
    os.close(fd)
  if got != out.nbytes:
    raise OSError(f'{array.filename}: row {index} is cut short ({got} of {out.nbytes} bytes)')
  return out


def source_fingerprints(paths: list[Path], root: Path) -> dict:
  """The header's record of a store's sources (video files or frame folders, heart files):
  `sources`, each one's fingerprint by its path relative to `root`, and `fingerprint`,
  all files' together (the one field stores written before `sources` existed hold)."""
  paths = [Path(p) for p in paths]
  return dict(fingerprint=fingerprint_files([p for p in paths if p.is_file()]),
              sources=_each_source(paths, root))


def _each_source(paths: list[Path], root: Path) -> dict[str, str]:
  root = Path(root).resolve()
  return {os.path.relpath(p.resolve(), root): fingerprint_files([p])
          for p in dict.fromkeys(Path(p) for p in paths) if p.exists()}


def changed_source(header: dict, paths: list[Path], root: Path) -> str | None:
  """What differs between the sources a store was extracted from and `paths` now (a file
  named as changed, new or gone), or None when they agree. Reads each source once: only
  the record the store holds is computed again."""
  if 'sources' not in header:  # an older store: only the fingerprint of all files together
    now = fingerprint_files([Path(p) for p in paths if Path(p).is_file()])
    return None if now == header.get('fingerprint') else (
        'a source file changed since extraction (this store records no per-file fingerprints)')
  had, now = header['sources'], _each_source(paths, root)
  for name in sorted(set(had) | set(now)):
    if name not in now:
      return f'{name} is gone'
    if name not in had:
      return f'{name} is new'
    if had[name] != now[name]:
      return f'{name} changed since extraction'
  return None


def fingerprint_files(paths: list[Path]) -> str:
  """Content fingerprint of source files: size plus the first and last MiB of each.

  A folder (image frames) counts as its sorted file names and sizes plus its
  first and last file.
  """
  h = hashlib.sha256()
  for p in sorted(paths, key=str):
    if p.is_dir():
      files = sorted(f for f in p.iterdir() if f.is_file())
      h.update(''.join(f'{f.name}:{f.stat().st_size};' for f in files).encode())
      for f in files[:1] + files[-1:]:
        _hash_file(h, f)
    else:
      _hash_file(h, p)
  return h.hexdigest()[:16]


def _hash_file(h, p: Path) -> None:
  size = p.stat().st_size
  h.update(f'{p.name}:{size}'.encode())
  with open(p, 'rb') as f:
    h.update(f.read(1 << 20))
    if size > 2 << 20:
      f.seek(-(1 << 20), os.SEEK_END)
      h.update(f.read())
