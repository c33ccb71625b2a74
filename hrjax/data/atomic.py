"""Folders written whole or not at all: a temporary sibling, renamed into place on success.

A write that fails removes its temporary folder. One that dies without a chance to clean
up (SIGKILL, power loss) leaves `PATH.tmp-PID`; the next write of PATH removes every such
folder whose process is gone, naming it, so a half-written folder never looks complete and
never piles up. Used by the synthetic generators and the clip store.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from absl import logging


def _alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:  # another user's process
    return True
  return True


def clear_interrupted(path: Path) -> list[Path]:
  """Remove `PATH.tmp-PID` folders of processes that no longer run; those removed."""
  removed = []
  for tmp in sorted(path.parent.glob(f'{path.name}.tmp-*')):
    pid = tmp.name.rpartition('-')[2]
    if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
      shutil.rmtree(tmp, ignore_errors=True)
      logging.warning('%s: removed the folder of an interrupted write (process %s is gone)',
                      tmp, pid)
      removed.append(tmp)
  return removed


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
  """Yield an empty temporary folder beside `path`; rename it to `path` when the block
  ends without an exception, else remove it. `path` must not exist."""
  path = Path(path)
  if path.exists():
    raise FileExistsError(f'{path} exists already; remove it or choose another path')
  path.parent.mkdir(parents=True, exist_ok=True)
  clear_interrupted(path)
  tmp = path.with_name(f'{path.name}.tmp-{os.getpid()}')
  shutil.rmtree(tmp, ignore_errors=True)
  tmp.mkdir()
  try:
    yield tmp
    tmp.rename(path)
  except BaseException:
    shutil.rmtree(tmp, ignore_errors=True)
    raise
