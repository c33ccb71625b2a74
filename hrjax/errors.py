"""The package's errors: what a user's input did wrong, and what a command line reports.

Every layer may import this module; it imports nothing of hrjax.
"""

from __future__ import annotations

import errno
import os


class InputError(ValueError):
  """A user's input file cannot be used; the message names the file and the problem."""

  def __init__(self, path: str | os.PathLike, problem: str):
    self.path, self.problem = str(path), problem
    super().__init__(f'{path}: {problem}')

  def __reduce__(self):  # across processes (parallel extraction) with its path and problem
    return type(self), (self.path, self.problem)


class HelperError(RuntimeError):
  """A helper process in an environment of its own (MediaPipe's) failed; the message says
  which and ends with its last line of output (the exception, where it raised one)."""


# What a command line reports as one line `PROGRAM: error: ...` and exit status 1, instead
# of a traceback: a bad input file, a missing file or checkpoint, a store or workdir in the
# way, a setting that does not fit, a non-finite loss.
USER_ERRORS = (InputError, FileNotFoundError, FileExistsError, FloatingPointError, ValueError,
               HelperError)

# A full disk, a quota, a read-only file system: the machine's trouble, told in one line
# (`OSError` with one of these errno values, its `filename` the path being written).
DISK_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)
