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


class Source:
  """Clips of one store's split that a batch may draw from: `clips` per batch, each of a
  distinct subject, never one of `exclude` (a held-out subject). A store of videos without
  a heart signal only as an `unlabeled` source."""

  def __init__(self, store: str, split: str, clips: int, exclude: tuple[str, ...] = (),
               unlabeled: bool = False):
    self.store, self.split, self.clips = str(store), split, int(clips)
    if not unlabeled:
      clip_store.check_labeled(store, 'a store of labeled clips (data.store, train.mix)')
    split_ = clip_store.open_split(store, split)
    subjects = np.array([r['subject'] for r in split_.rows])
    kept = [s for s in np.unique(subjects) if s not in set(exclude)]
    self.clips_of = [np.flatnonzero(subjects == s) for s in kept]
    self.shape = split_.video.shape[1:]
    if self.clips > len(self.clips_of):
      raise ValueError(f'{store}/{split}: {self.clips} clips of distinct subjects per batch, '
                       f'but only {len(self.clips_of)} subjects'
                       + (f' once {", ".join(exclude)} are left out' if exclude else ''))


def mixed_sources(mix: str, exclude: str = '', split: str = 'train',
                  unlabeled: bool = False) -> tuple[Source, ...]:
  """`config.train.mix` ('STORE@CLIPS,STORE:SPLIT@CLIPS') and `mix_exclude` ('SUBJECT,...')
  as `Source`s of each store's `split` (or the SPLIT an entry names); with `unlabeled`,
  `config.train.unlabeled`'s sources instead."""
  field = 'train.unlabeled' if unlabeled else 'train.mix'
  left_out = tuple(s.strip() for s in exclude.split(',') if s.strip())
  sources = []
  for entry in (e.strip() for e in mix.split(',') if e.strip()):
    store, at, clips = entry.rpartition('@')
    if not at or not clips.isdigit() or int(clips) < 1:
      raise ValueError(f'{field} entry {entry!r}: expected STORE@CLIPS or STORE:SPLIT@CLIPS '
                       '(clips per batch)')
    name, colon, named_split = store.rpartition(':')
    if colon and named_split in clip_store.SPLITS:
      store, split_ = name, named_split
    else:
      split_ = split
    sources.append(Source(store, split_, int(clips), left_out, unlabeled=unlabeled))
  return tuple(sources)


class SubjectBatches:
  """Index k -> a batch dict of `batch_size` clips, one per distinct subject.

  The clips come from `store`'s `split`, or, with `mix` (further `Source`s, e.g. real
  recordings beside synthetic ones), that many per batch from each of them and the rest
  from `store`. Subjects of different stores are different people. `unlabeled` sources
  come last, their clips marked 0 in the batch's `labeled` mask (present only with them):
  the step never pairs their hearts, so they may show anyone, a held-out subject too.

  With `rows_only` set (`training/resident.prepare`, for clips already on the devices) a
  batch names its clips instead of holding them (`row`: each clip's row in the sources'
  splits one after another; `colour`: its colour matrix, where colours are mixed); the
  plan, flips and shifts are the same.
  """

  def __init__(self, store: str, split: str, batch_size: int, seed: int, augment: bool,
               process_index: int = 0, process_count: int = 1, mix: tuple[Source, ...] = (),
               unlabeled: tuple[Source, ...] = (), colour_mix: float = 0.0):
    self.store, self.split = str(store), split
    self.batch_size, self.seed, self.augment = batch_size, seed, augment
    self.colour_mix = float(colour_mix)
    self.rows_only = False
    n_unlabeled = sum(u.clips for u in unlabeled)
    self._labeled = (None if not n_unlabeled else  # the batch's last clips are unlabeled
                     (np.arange(batch_size) < batch_size - n_unlabeled).astype(np.float32))
    mix = tuple(mix) + tuple(unlabeled)
    own = batch_size - sum(m.clips for m in mix)
    if own < 1:
      raise ValueError(f'batch_size {batch_size} leaves no clips for {store} after the mixed '
                       f'stores\' {batch_size - own} per batch')
    self.sources = (Source(store, split, own),) + tuple(mix)
    for m in mix:
      if m.shape != self.sources[0].shape:
        raise ValueError(f'{m.store}: clips of shape {m.shape}, '
                         f'{store} holds {self.sources[0].shape}')
    if own > len(self.sources[0].clips_of):
      raise ValueError(f'{store}/{split}: batch_size {own} exceeds the '
                       f'{len(self.sources[0].clips_of)} distinct subjects a batch can hold')
    if batch_size % process_count:
      raise ValueError(f'batch_size {batch_size} not divisible by {process_count} processes')
    per = batch_size // process_count
    self.local = slice(process_index * per, (process_index + 1) * per)
    self._splits = None  # opened lazily: memory maps do not travel to worker processes

  def __getstate__(self):
    return dict(self.__dict__, _splits=None)

  def plan(self, index: int) -> tuple[list[tuple[int, int]], np.random.Generator]:
    """(source, clip index) of each clip of batch `index` (the whole global batch) and its
    augmentation rng."""
    rng = np.random.default_rng([self.seed, index])
    picks = []
    for k, source in enumerate(self.sources):
      subjects = rng.choice(len(source.clips_of), source.clips, replace=False)
      picks += [(k, int(rng.choice(source.clips_of[s]))) for s in subjects]
    return picks, rng

  def __call__(self, index: int) -> dict:
    if self._splits is None:
      self._splits = [clip_store.open_split(s.store, s.split) for s in self.sources]
    picks, rng = self.plan(int(index))
    flips, shifts = flips_and_shifts(rng, self.batch_size)
    # Drawn after the flips and shifts, and only when asked for: without it every batch is
    # the one earlier versions made (resume, `make demo`).
    mixes = (colour_matrices(rng, self.batch_size, self.colour_mix)
             if self.augment and self.colour_mix > 0 else None)
    mine = range(self.batch_size)[self.local]
    if self.rows_only:
      return self._rows(picks, flips, shifts, mixes)
    video = np.empty((len(mine), *self._splits[0].video.shape[1:]), np.uint8)
    heart, rr = [], []
    for row, i in enumerate(mine):
      split, clip = self._splits[picks[i][0]], picks[i][1]
      clip_store.read_row(split.video, clip, out=video[row])
      if mixes is not None:  # per pixel: the same before or after the flip and shift
        video[row] = mix_colours(video[row], mixes[i])
      heart.append(split.heart[clip])
      rr.append(split.rr[clip])
    batch = dict(video=video, heart=np.stack(heart).astype(np.float32),
                 rr=np.stack(rr).astype(np.float32),
                 clip=np.array([c for _, c in picks[self.local]]))
    return self._with_draws(batch, flips, shifts)

  def _rows(self, picks, flips, shifts, mixes) -> dict:
    """The batch as rows of the sources' splits one after another, and its draws."""
    offsets = np.cumsum([0] + [len(split) for split in self._splits])
    local = picks[self.local]
    batch = dict(row=np.array([offsets[k] + c for k, c in local], np.int32),
                 clip=np.array([c for _, c in local]))
    if mixes is not None:
      batch['colour'] = mixes[self.local].astype(np.float32)
    return self._with_draws(batch, flips, shifts)

  def _with_draws(self, batch: dict, flips, shifts) -> dict:
    if self.augment:  # made in the train step (training/augment.py), not here
      batch['flip'], batch['shift'] = flips[self.local], shifts[self.local]
    if self._labeled is not None:
      batch['labeled'] = self._labeled[self.local]
    return batch


def flips_and_shifts(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
  """The augmentation of `n` clips: a left-right flip each (`bool [n]`, half of them) and a
  wrap-around shift of up to 2 pixels along (H, W) (`int32 [n, 2]`), drawn in that order."""
  flips = rng.random(n) < 0.5
  return flips, rng.integers(-2, 3, (n, 2)).astype(np.int32)


def colour_matrices(rng: np.random.Generator, n: int, strength: float) -> np.ndarray:
  """`n` random camera colour responses `[n, 3, 3]` (output channel x input channel): a
  white balance (per-channel gains, log-normal with sd `strength`) times a mixing of the
  channels (identity plus off-diagonal crosstalk of sd `strength / 2`, each row summing
  to 1 so a grey stays grey). The input's per-pixel normalisation cancels the gains in
  the relative change but not the mixing: the pulse's colour direction turns, as it does
  between cameras (their spectral sensitivities) and between skins."""
  cross = rng.normal(0.0, strength / 2, (n, 3, 3)) * (1 - np.eye(3))
  mixing = np.eye(3) + cross - np.eye(3) * cross.sum(-1, keepdims=True)
  gains = np.exp(rng.normal(0.0, strength, (n, 3, 1)))
  return gains * mixing


def mix_colours(video: np.ndarray, matrix: np.ndarray) -> np.ndarray:
  """`uint8 [..., 3]` through a colour matrix `[3, 3]`, rounded and clipped to uint8."""
  out = video.astype(np.float32) @ matrix.T.astype(np.float32)
  return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def train_iterator(batches: SubjectBatches, num_batches: int, workers: int = 0,
                   read_ahead: int = 8, threads: int = 2):
  """A checkpointable grain iterator over batches 0..num_batches-1.

  At most `read_ahead` batches are made ahead of the consumer, by `threads` threads (in
  each of `workers` processes, where there are any). grain's defaults (16 threads, 500
  batches ahead) filled gigabytes while the first step compiled, and an allocator that
  keeps freed memory held them for the whole run (docs/performance.md, memory of a
  training process); a step needs the next batch only.
  """
  options = grain.ReadOptions(num_threads=threads, prefetch_buffer_size=read_ahead)
  ds = grain.MapDataset.range(num_batches).map(batches).to_iter_dataset(options)
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
