"""Text files as researchers' tools write them: UTF-8 with or without a byte-order mark,
UTF-16 (Excel's "Unicode text", Windows tools), or a Windows code page for the odd
accented name. One place decides, so that every table and manifest reads the same way.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from absl import logging

from hrjax.errors import InputError

_BOMS = ((codecs.BOM_UTF32_LE, 'utf-32'), (codecs.BOM_UTF32_BE, 'utf-32'),
         (codecs.BOM_UTF16_LE, 'utf-16'), (codecs.BOM_UTF16_BE, 'utf-16'))


def read_text(path: Path, what: str = 'file') -> str:
  """The text of `path`. A byte-order mark names its encoding; UTF-16 without one is
  recognised by its zero bytes; other bytes that are not UTF-8 are read as Windows-1252
  with a warning (a number reads the same in any of them; a name may not)."""
  path = Path(path)
  if not path.is_file():
    raise InputError(path, f'{what} not found')
  data = path.read_bytes()
  if b'\0' in data[:4096]:
    for bom, encoding in _BOMS:
      if data.startswith(bom):
        return _decode(path, data, encoding)
    even_zeros = data[1:4096:2].count(0) > 0.4 * len(data[1:4096:2])
    return _decode(path, data, 'utf-16-le' if even_zeros else 'utf-16-be')
  try:
    return data.decode('utf-8-sig')
  except UnicodeDecodeError as e:
    logging.warning('%s: not UTF-8 (byte %d); read as Windows-1252', path, e.start)
    return data.decode('cp1252', errors='replace')


def _decode(path: Path, data: bytes, encoding: str) -> str:
  try:
    return data.decode(encoding)
  except UnicodeDecodeError as e:
    raise InputError(path, f'zero bytes in a text file that is not valid {encoding.upper()} '
                     f'(byte {e.start}): not a text table?') from None
