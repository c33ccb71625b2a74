"""What every hrjax program does first: refuse stray arguments, keep absl logging quiet;
for the long-running ones, an allocator that keeps its memory."""

import importlib.metadata
import os
import platform
import sys
from pathlib import Path

from absl import app, flags, logging

MALLOC_TUNING = 'glibc.malloc.hugetlb=1'  # the fallback where mimalloc is not installed
MIMALLOC_PURGE_DELAY = '-1'  # keep freed memory for the next step instead of returning it
_TUNED = 'HRJAX_MALLOC_TUNED'  # across the re-run (so that it happens once): what it preloaded


def start(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {" ".join(argv[1:])}')
  if not flags.FLAGS['verbosity'].present:
    logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO


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
  """The variables that give a CPU-heavy process a faster allocator (Linux), or {}.

  XLA on a CPU allocates its large temporaries (hundreds of MB) afresh every
  step; glibc hands such blocks back to the kernel when they are freed, and
  the kernel zeroes fresh pages when they are touched again (README, CPU
  memory note). mimalloc (preloaded, `MIMALLOC_PURGE_DELAY=-1`) keeps the
  freed memory and gives it out again; where it is not installed or the run is
  on an accelerator, transparent huge pages for glibc's malloc make each fault
  cover 2 MB. Nothing where HRJAX_MALLOC_TUNING=0, and neither where its
  variable is already set (an LD_PRELOAD or GLIBC_TUNABLES of your own).
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
  """Re-run this program with `malloc_env()`'s allocator (the loader reads it only at start).

  With mimalloc the quick config's train step on the 2-core CPU loses its
  ~70 ms of system time per step (README, CPU memory note). After the re-run
  the preload is taken out of the environment again, so ffmpeg and other
  programs it starts keep their own allocator.
  """
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
