"""An allocator that keeps its memory, for the long-running CPU programs.

XLA on a CPU allocates its large per-step temporaries afresh every step; glibc
hands blocks that large back to the kernel when they are freed, and the kernel
zeroes fresh pages when they are touched again. mimalloc (from the
`cmeel-mimalloc` wheel, preloaded with `MIMALLOC_PURGE_DELAY=-1`) keeps the
freed memory and gives it out again. Where it is not installed, or JAX will
compute on an accelerator, transparent huge pages for glibc's malloc make each
fault cover 2 MB. `docs/performance.md` has the measurements behind both.

The loader reads `LD_PRELOAD` only when a process starts, so `tune_malloc`
re-runs the program once with the variables set, and the re-run takes the
preload out of its environment again: ffmpeg and other programs it starts keep
their own allocator. `HRJAX_MALLOC_TUNING=0` turns all of it off; an
`LD_PRELOAD` or `GLIBC_TUNABLES` of your own is left alone.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import os
import platform
import sys
from pathlib import Path

MALLOC_TUNING = 'glibc.malloc.hugetlb=1'  # the fallback where mimalloc is not installed
MIMALLOC_PURGE_DELAY = '-1'  # keep freed memory for the next step instead of returning it
_TUNED = 'HRJAX_MALLOC_TUNED'  # across the re-run (so that it happens once): what it preloaded
_PURGE_DELAY_OPTION = 15  # mi_option_purge_delay in mimalloc 2's and 3's `mi_option_t`


def mimalloc_library() -> str | None:
  """Path of the libmimalloc.so that the cmeel-mimalloc wheel installs, if it is installed."""
  try:
    dist = importlib.metadata.distribution('cmeel-mimalloc')
  except importlib.metadata.PackageNotFoundError:
    return None
  for f in dist.files or ():
    if f.name == 'libmimalloc.so':
      path = Path(dist.locate_file(f))
      if path.is_file():
        return str(path)
  return None


def _cpu_run(environ) -> bool:
  """Whether JAX will compute on the CPU: JAX_PLATFORMS says cpu, or no accelerator plugin
  (jax[cuda12] and the like register one) is installed."""
  platforms = environ.get('JAX_PLATFORMS', '')
  if platforms:
    return platforms.split(',')[0] == 'cpu'
  return not importlib.metadata.entry_points(group='jax_plugins')


def malloc_env(environ=None) -> dict[str, str]:
  """The variables that give a CPU-heavy process the allocator above (Linux), or {}.

  Nothing where HRJAX_MALLOC_TUNING=0, and neither where its variable is
  already set (an LD_PRELOAD or GLIBC_TUNABLES of your own).
  """
  environ = os.environ if environ is None else environ
  if sys.platform != 'linux' or environ.get('HRJAX_MALLOC_TUNING') == '0':
    return {}
  library = mimalloc_library() if 'LD_PRELOAD' not in environ and _cpu_run(environ) else None
  if library:
    return {'LD_PRELOAD': library,
            'MIMALLOC_PURGE_DELAY': environ.get('MIMALLOC_PURGE_DELAY', MIMALLOC_PURGE_DELAY)}
  if 'GLIBC_TUNABLES' not in environ and platform.libc_ver()[0] == 'glibc':
    return {'GLIBC_TUNABLES': MALLOC_TUNING}
  return {}


def rerun_environ(environ=None) -> dict[str, str] | None:
  """The environment to re-run a program in with `malloc_env`'s allocator, or None (none
  to set). The re-run program calls `tune_malloc`, which then only tidies up."""
  environ = os.environ if environ is None else environ
  env = malloc_env(environ)
  if not env:
    return None
  return {**environ, **env, _TUNED: env.get('LD_PRELOAD', '')}


def tune_malloc() -> None:
  """Re-run this program with `malloc_env()`'s allocator; in the re-run, take the preload
  out of the environment so that the programs it starts do not inherit it."""
  preloaded = os.environ.pop(_TUNED, None)
  if preloaded is not None:  # this is the re-run
    if preloaded and os.environ.get('LD_PRELOAD') == preloaded:
      del os.environ['LD_PRELOAD']
    return
  env = rerun_environ()
  if env is None:
    return
  os.environ.update(env)
  sys.stdout.flush()
  sys.stderr.flush()
  os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


def _kept_mimalloc():
  """The preloaded mimalloc, when this process runs it with freed memory kept
  (`MIMALLOC_PURGE_DELAY=-1`, the re-run's), else None: glibc, or a purge delay of your
  own, which is left as set."""
  if os.environ.get('MIMALLOC_PURGE_DELAY') != '-1':
    return None
  try:
    lib = ctypes.CDLL(None)
    get, set_, collect = lib.mi_option_get, lib.mi_option_set, lib.mi_collect
  except (OSError, AttributeError):  # not preloaded
    return None
  get.restype, get.argtypes = ctypes.c_long, [ctypes.c_int]
  set_.restype, set_.argtypes = None, [ctypes.c_int, ctypes.c_long]
  collect.restype, collect.argtypes = None, [ctypes.c_bool]
  # -1 as the environment set it, or 0 as `keep_freed_memory(False)` did: the option is
  # the purge delay (another mimalloc's numbering would show another value).
  return lib if get(_PURGE_DELAY_OPTION) in (-1, 0) else None


def keep_freed_memory(keep: bool) -> None:
  """Whether mimalloc keeps freed memory from now on (`keep`: the train loop's steady steps,
  whose temporaries come back every step) or hands it back at once (compiles, the first
  step, evaluation: memory they free is not asked for again soon). Only a process the
  re-run gave `MIMALLOC_PURGE_DELAY=-1` is switched; anywhere else nothing changes.

  Kept all along, what the compilers freed stayed resident for the whole run and the kept
  memory grew with the steps (docs/performance.md, "Memory kept only where it is reused").
  """
  lib = _kept_mimalloc()
  if lib is None:
    return
  lib.mi_option_set(_PURGE_DELAY_OPTION, 0)
  lib.mi_collect(True)  # what is free now goes back
  if keep:
    lib.mi_option_set(_PURGE_DELAY_OPTION, -1)
