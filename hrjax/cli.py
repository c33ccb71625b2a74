"""What every hrjax program does first: refuse stray arguments, keep absl logging quiet;
for the long-running ones, huge pages for malloc."""

import os
import platform
import sys

from absl import app, flags, logging

MALLOC_TUNING = 'glibc.malloc.hugetlb=1'


def start(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {" ".join(argv[1:])}')
  if not flags.FLAGS['verbosity'].present:
    logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO


def tune_malloc() -> None:
  """Re-run this program with transparent huge pages for malloc (glibc on Linux).

  XLA on a CPU allocates its large temporaries afresh every step and the kernel
  faults their pages in; with huge pages the quick config's train step went
  from 421.9 to 300.9 ms (README, CPU memory note). glibc reads the setting
  only at start, hence the re-run. Nothing happens where GLIBC_TUNABLES is
  already set (to anything) or HRJAX_MALLOC_TUNING=0; glibc versions that do
  not know it ignore it.
  """
  if (sys.platform != 'linux' or 'GLIBC_TUNABLES' in os.environ
      or os.environ.get('HRJAX_MALLOC_TUNING') == '0' or platform.libc_ver()[0] != 'glibc'):
    return
  os.environ['GLIBC_TUNABLES'] = MALLOC_TUNING
  sys.stdout.flush()
  sys.stderr.flush()
  os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])
