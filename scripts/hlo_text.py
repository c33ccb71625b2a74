"""Reading XLA's optimised HLO text (`compiled.as_text()`), for `step_bytes.py` and
`step_profile.py`."""

import re

_LINE = re.compile(r'\s*(?:ROOT )?%?([\w.\-]+) = (.+?) ([\w\-]+)\((.*)$')


def entry_instructions(hlo: str):
  """(name, result shape, opcode, the rest of the line) of each instruction of the entry
  computation."""
  entry = hlo[hlo.index('\nENTRY'):]
  for line in entry[:entry.index('\n}\n')].splitlines():
    m = _LINE.match(line)
    if m:
      yield m.groups()
