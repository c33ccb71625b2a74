"""What every hrjax program does first (refuse stray arguments, keep absl logging quiet) and
how it reports a user's mistake (one line naming the file and the problem, exit status 1)."""

from __future__ import annotations

import contextlib
import sys

from absl import app, flags, logging

from hrjax.errors import DISK_ERRORS, USER_ERRORS


def start(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {" ".join(argv[1:])}')
  if not flags.FLAGS['verbosity'].present:
    logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO


@contextlib.contextmanager
def user_errors(program: str, note: str | None = None):
  """Turn `errors.USER_ERRORS` into `PROGRAM: error: MESSAGE` (and `note`) on stderr, exit 1."""
  try:
    yield
  except USER_ERRORS as e:
    print(f'{program}: error: {e}', file=sys.stderr)
    if note:
      print(f'{program}: {note}', file=sys.stderr)
    sys.exit(1)
  except OSError as e:
    if e.errno not in DISK_ERRORS:
      raise
    print(f'{program}: error: {e.filename or "writing"}: {e.strerror}', file=sys.stderr)
    sys.exit(1)
