"""What every hrjax program does first (refuse stray arguments, keep absl logging quiet) and
how it reports a user's mistake (one line naming the file and the problem, exit status 1)."""

from __future__ import annotations

import contextlib
import sys

from absl import app, flags, logging

from hrjax.errors import DISK_ERRORS, USER_ERRORS


def parse_flags(argv: list[str]) -> list[str]:
  """absl's parsing, and a `--config.KEY=...` override of a key the config lacks told in
  one line (ml_collections raises a bare KeyError or AttributeError from inside it)."""
  try:
    return app.parse_flags_with_usage(argv)
  except (AttributeError, KeyError) as e:
    text = e
    while isinstance(text, BaseException) and text.args:  # AttributeError(KeyError(text))
      text = text.args[0]
    lines = str(text).splitlines() or ['?']
    key = lines[0].strip('"\'')
    named = [a.split('=')[0] for a in argv[1:] if a.startswith('--config.')
             and key in a.split('=')[0].split('.')]
    hint = ''.join(f' ({line.strip()})' for line in lines[1:2])
    print(f'hrjax: error: {", ".join(named) or key}: the config has no key {key!r}{hint}',
          file=sys.stderr)
    sys.exit(2)


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
