"""Ingest spread over processes: one function over many recordings, results in input order.

Generation and extraction are per-recording work of one core each (numpy, ffmpeg's
pipes), so a machine's cores each take recordings of their own. The results come back in
the order of the inputs, whatever order the workers finish in, so the files written from
them are the bytes the serial path writes. Workers are spawned, not forked: the parent may
hold JAX's threads.
"""

from __future__ import annotations

import collections
import concurrent.futures
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator

import threadpoolctl

# Each worker computes on one core: numpy's OpenBLAS threads busy-wait, and two processes'
# worth of them on two cores made face-crop extraction 2x slower (docs/performance.md).
ONE_THREAD = {'OPENBLAS_NUM_THREADS': '1', 'OMP_NUM_THREADS': '1'}

# The same rule for a recording decoded in this process (one worker, or `hrjax.predict` on
# a user's files): ffmpeg and the face detector hold the cores while a frame is cropped, and
# OpenBLAS's threads, spinning for the next product, took them back (docs/performance.md,
# "Extraction in this process"). A decorator: numpy's BLAS on one thread inside.
one_blas_thread = threadpoolctl.threadpool_limits.wrap(limits=1, user_api='blas')


def worker_count(workers: int, jobs: int) -> int:
  """`workers`, or one per CPU this process may use where 0; never more than the jobs."""
  if workers <= 0:
    workers = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else (
        os.cpu_count() or 1)
  return max(1, min(workers, jobs))


def ordered_results(fn: Callable, items: Iterable, workers: int, *,
                    initializer: Callable | None = None, initargs: tuple = ()) -> Iterator:
  """`fn(item)` for every item, yielded in the items' order, computed by `workers` spawned
  processes (each first runs `initializer(*initargs)`), at most two per worker in flight so
  that finished results do not pile up. `fn`, the items and the results must pickle. An
  exception in a worker is raised here, and the work not yet started is cancelled."""
  items = iter(items)
  context = multiprocessing.get_context('spawn')
  saved = {k: os.environ.get(k) for k in ONE_THREAD}
  os.environ.update(ONE_THREAD)  # what the workers, spawned as work is submitted, start with
  pending = collections.deque()
  try:
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context,
                                                initializer=initializer,
                                                initargs=initargs) as pool:
      try:
        for item in items:
          pending.append(pool.submit(fn, item))
          if len(pending) >= 2 * workers:
            break
        while pending:
          result = pending.popleft().result()
          for item in items:  # one more in, if any are left
            pending.append(pool.submit(fn, item))
            break
          yield result
      finally:
        for future in pending:
          future.cancel()
  finally:
    for k, v in saved.items():
      if v is None:
        os.environ.pop(k, None)
      else:
        os.environ[k] = v
