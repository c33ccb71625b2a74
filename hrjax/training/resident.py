"""Training clips kept on the devices: a store that fits goes to the accelerator once.

A GPU consumes the gpu config's clips faster than one host process reads them and sends
them over (2.5 MB a clip at 4,000 clips/s is 10 GB/s). rPPG datasets are small enough to
sit in an accelerator's memory (42 one-minute UBFC videos at 72 x 72 are ~1.2 GB), so
where the training clips fit in a share of it they are put on every device once
(replicated), with their hearts and rates. The loader then sends its batch plan only:
which rows, and each clip's flip, shift and colour matrix (`pipeline.SubjectBatches`
with `rows_only`); the step gathers the rows on the devices and makes the augmentation
there. The plan is the loader's, so batches, resume and every value the step sees are
those of reading the clips on the host (`tests/test_resident.py`).

On a CPU the devices' memory is the host's, and the gain is the loader's work: its
threads no longer read clips on the cores the step computes on (docs/performance.md).
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import jax
import numpy as np
from absl import logging

from hrjax.data import clip_store, pipeline
from hrjax.training import augment, parallel

MODES = ('auto', 'on', 'off')  # config.data.on_device
# 'auto': the most of a device's memory the clips may take. On a CPU the devices' memory is
# the host's, where the tables are not given back under pressure as the page cache is:
# a small share of it.
DEVICE_SHARE = {'cpu': 0.1, 'other': 0.3}


def table_bytes(batches: pipeline.SubjectBatches) -> int:
  """Bytes the clips, hearts and rates of the batches' sources take on each device (from
  the arrays' headers)."""
  total = 0
  for source in batches.sources:
    for name, itemsize in (('video', 1), ('heart', 4), ('rr', 4)):
      array = np.load(Path(source.store) / source.split / f'{name}.npy', mmap_mode='r')
      total += array.size * itemsize
  return total


def fits(nbytes: int, device: jax.Device) -> bool:
  """'auto': whether `nbytes` of clips go to `device`: within DEVICE_SHARE of its memory
  (a CPU's: the machine's physical memory)."""
  if device.platform == 'cpu':
    return 0 < nbytes <= DEVICE_SHARE['cpu'] * _physical_memory()
  limit = (device.memory_stats() or {}).get('bytes_limit', 0)
  return 0 < nbytes <= DEVICE_SHARE['other'] * limit


# where a container or a batch job's cgroup states the memory it may use (v2, then v1)
CGROUP_LIMITS = ('/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes')


def _physical_memory() -> int:
  """The memory this process may use: the machine's, or less where its cgroup says so (a
  Slurm job or a container sees the whole machine's in sysconf)."""
  try:
    total = os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES')
  except (ValueError, OSError, AttributeError):  # a system that does not say
    return 0
  for path in CGROUP_LIMITS:
    try:
      limit = Path(path).read_text().strip()
    except OSError:
      continue
    if limit.isdigit():  # 'max' where there is no limit
      total = min(total, int(limit))
  return total


def keeps(mode: str, batches: pipeline.SubjectBatches, device: jax.Device) -> bool:
  """Whether `config.data.on_device`'s `mode` keeps the batches' clips on the devices."""
  if mode not in MODES:
    raise ValueError(f"data.on_device must be one of {', '.join(MODES)}, got {mode!r}")
  return mode == 'on' or (mode == 'auto' and fits(table_bytes(batches), device))


def prepare(mode: str, batches: pipeline.SubjectBatches, mesh,
            ) -> tuple[pipeline.SubjectBatches, dict | None]:
  """(the batches to load, the clips on the devices or None) for `config.data.on_device`:
  with the clips kept there, batches that only name them, and the tables `gather` reads."""
  if not keeps(mode, batches, mesh.devices.flat[0]):
    return batches, None
  tables = put(batches.sources, mesh)
  logging.info('Training clips kept on the devices: %.1f MB on each',
               sum(t.nbytes for t in tables.values()) / 1e6)
  named = copy.copy(batches)  # the same batches, each naming its clips instead of holding them
  named.rows_only = True
  return named, tables


def put(sources, mesh) -> dict:
  """Every source's split, one after another (the rows `SubjectBatches` names), as arrays
  replicated over `mesh`: video `uint8 [N, T, S, S, 3]`, heart `float32 [N, T, 2]`, rr
  `float32 [N, 2]`. Each process puts the whole of them on its own devices."""
  splits = [clip_store.open_split(s.store, s.split) for s in sources]
  sharding = parallel.replicated(mesh)
  tables = {}
  for name, dtype in (('video', np.uint8), ('heart', np.float32), ('rr', np.float32)):
    parts = [getattr(split, name) for split in splits]
    host = np.empty((sum(len(p) for p in parts), *parts[0].shape[1:]), dtype)
    np.concatenate(parts, out=host, casting='same_kind')  # one copy in this process's memory
    tables[name] = jax.make_array_from_callback(host.shape, sharding, lambda i, h=host: h[i])
  return tables


def gather(batch: dict, tables: dict) -> dict:
  """A batch that names its clips (`row`, maybe `colour`) -> the batch of the clips
  themselves, as the host loader makes it (inside the compiled step)."""
  rows = batch['row']
  out = {k: v for k, v in batch.items() if k not in ('row', 'colour')}
  video = tables['video'][rows]
  if 'colour' in batch:
    video = augment.mix_colours(video, batch['colour'])
  out.update(video=video, heart=tables['heart'][rows], rr=tables['rr'][rows])
  return out


def bytes_per_step(batch: dict) -> int:
  """What one step's batch sends to the devices (the arrays `parallel.put_batch` puts)."""
  keys = (*parallel.MODEL_INPUTS, *parallel.OPTIONAL_INPUTS)
  return int(sum(np.asarray(batch[k]).nbytes for k in keys if k in batch))
