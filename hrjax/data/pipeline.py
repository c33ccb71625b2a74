"""grain input pipeline over a clip store: batches of clips from distinct subjects.

Batch k is a pure function of (seed, k): which subjects, which of their clips,
which augmentation. So the iterator's state is just its position, grain saves
it with the checkpoint, and a resumed run sees the batches an unbroken run
would have seen. Transforms are numpy-only, so grain worker processes can run
them; each process of a multi-host run loads only its slice of every batch.
"""

from __future__ import annotations

import grain
import numpy as np

from hrjax.data import clip_store


class SubjectBatches:
  """Index k -> a batch dict of `batch_size` clips, one per distinct subject."""

  def __init__(self, store: str, split: str, batch_size: int, seed: int, augment: bool,
               process_index: int = 0, process_count: int = 1):
    self.store, self.split = str(store), split
    self.batch_size, self.seed, self.augment = batch_size, seed, augment
    rows = clip_store.open_split(store, split).rows
    subjects = np.array([r['subject'] for r in rows])
    self.clips_of = [np.flatnonzero(subjects == s) for s in np.unique(subjects)]
    if batch_size > len(self.clips_of):
      raise ValueError(f'{store}/{split}: batch_size {batch_size} exceeds the '
                       f'{len(self.clips_of)} distinct subjects a batch can hold')
    if batch_size % process_count:
      raise ValueError(f'batch_size {batch_size} not divisible by {process_count} processes')
    per = batch_size // process_count
    self.local = slice(process_index * per, (process_index + 1) * per)
    self._split = None  # opened lazily: memory maps do not travel to worker processes

  def __getstate__(self):
    return dict(self.__dict__, _split=None)

  def plan(self, index: int) -> tuple[np.ndarray, np.random.Generator]:
    """Clip indices of batch `index` (the whole global batch) and its augmentation rng."""
    rng = np.random.default_rng([self.seed, index])
    subjects = rng.choice(len(self.clips_of), self.batch_size, replace=False)
    clips = np.array([rng.choice(self.clips_of[s]) for s in subjects])
    return clips, rng

  def __call__(self, index: int) -> dict:
    if self._split is None:
      self._split = clip_store.open_split(self.store, self.split)
    clips, rng = self.plan(int(index))
    flips = rng.random(self.batch_size) < 0.5
    shifts = rng.integers(-2, 3, (self.batch_size, 2))
    video, heart, rr = [], [], []
    for i in range(self.batch_size)[self.local]:
      v = np.asarray(self._split.video[clips[i]])
      if self.augment:
        v = np.roll(v[:, :, ::-1] if flips[i] else v, tuple(shifts[i]), axis=(1, 2))
      video.append(v)
      heart.append(self._split.heart[clips[i]])
      rr.append(self._split.rr[clips[i]])
    return dict(video=np.stack(video), heart=np.stack(heart).astype(np.float32),
                rr=np.stack(rr).astype(np.float32), clip=clips[self.local])


def train_iterator(batches: SubjectBatches, num_batches: int, workers: int = 0):
  """A checkpointable grain iterator over batches 0..num_batches-1."""
  ds = grain.MapDataset.range(num_batches).map(batches).to_iter_dataset()
  if workers > 0:
    ds = ds.mp_prefetch(grain.MultiprocessingOptions(num_workers=workers))
  return iter(ds)


def eval_batches(split: clip_store.Split, batch_size: int):
  """Sequential, padded batches over a whole split: (batch dict, number of real clips)."""
  n = len(split)
  for start in range(0, n, batch_size):
    idx = np.arange(start, min(start + batch_size, n))
    pad = np.concatenate([idx, np.full(batch_size - len(idx), idx[-1])])
    yield dict(video=np.asarray(split.video[pad]), heart=np.asarray(split.heart[pad]),
               rr=np.asarray(split.rr[pad])), len(idx)
