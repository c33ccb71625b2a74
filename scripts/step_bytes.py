r"""Where the train step's memory traffic goes: its optimised HLO, bytes per kind of operation.

  python scripts/step_bytes.py --config configs/quick.py [--config.model.block_layout=...]

Compiles the config's train step as the benchmark does (a random batch of the config's
shape), reads the optimised HLO's entry computation and adds up each instruction's operand
and result bytes (shapes only: an upper bound on what reaches memory), grouped into the
shifted-window matrices' construction (`concatenate`), their gradient (slice fusions),
matrix products (`dot`), convolutions and other fusions. Prints XLA's own "bytes accessed"
beside the total, and the largest instructions.
"""

import collections
import re
import sys
from pathlib import Path

from absl import app, flags
from ml_collections import config_flags

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from hlo_text import entry_instructions  # noqa: E402

config_flags.DEFINE_config_file('config', 'configs/quick.py', 'Experiment config.')
flags.DEFINE_integer('top', 10, 'Largest instructions to list.')
FLAGS = flags.FLAGS

_BYTES = {'f64': 8, 's64': 8, 'f32': 4, 's32': 4, 'u32': 4, 'bf16': 2, 'f16': 2, 'u8': 1,
          's8': 1, 'pred': 1}
_SHAPE = re.compile(r'(' + '|'.join(_BYTES) + r')\[([0-9,]*)\]')
_SKIP = {'parameter', 'constant', 'tuple', 'get-tuple-element', 'bitcast'}


def shape_bytes(text: str) -> int:
  total = 0
  for dtype, dims in _SHAPE.findall(text):
    n = 1
    for d in filter(None, dims.split(',')):
      n *= int(d)
    total += n * _BYTES[dtype]
  return total


def group(name: str, op: str) -> str:
  if 'concatenate' in name:
    return 'shifted windows built (concatenate)'
  if 'slice' in name:
    return 'shifted windows folded back (slice fusions)'
  return {'dot': 'matrix products', 'convolution': 'convolutions'}.get(op, f'other {op}')


def entry_traffic(hlo: str) -> list[tuple[int, str, str, str]]:
  """(bytes, group, instruction, result shape) of each instruction of the entry computation."""
  shapes, rows = {}, []
  for name, result, op, rest in entry_instructions(hlo):
    shapes[name] = result
    if op in _SKIP:
      continue
    operands = re.findall(r'%([\w.\-]+)', rest.split('),')[0])
    moved = shape_bytes(result) + sum(shape_bytes(shapes.get(o, '')) for o in operands)
    rows.append((moved, group(name, op), name, result[:50]))
  return rows


def main(argv):
  del argv
  from benchmark_rows import compiled_train_step
  cfg = FLAGS.config
  compiled = compiled_train_step(cfg)[0]
  cost = compiled.cost_analysis()
  cost = cost[0] if isinstance(cost, list) else cost
  rows = entry_traffic(compiled.as_text())
  by_group = collections.Counter()
  for moved, kind, _, _ in rows:
    by_group[kind] += moved
  total = sum(by_group.values())
  print(f'{cfg.model.block_layout} blocks: {total / 1e9:.2f} GB per step by instruction shapes; '
        f"XLA's cost analysis {float(cost.get('bytes accessed', 0)) / 1e9:.2f} GB\n")
  print('| operations | GB per step | share |\n| --- | --- | --- |')
  for kind, moved in by_group.most_common():
    print(f'| {kind} | {moved / 1e9:.3f} | {moved / total:.1%} |')
  print(f'\nLargest {FLAGS.top} instructions:')
  for moved, kind, name, result in sorted(rows, reverse=True)[:FLAGS.top]:
    print(f'  {moved / 1e6:7.1f} MB  {name}  {result}  ({kind})')


if __name__ == '__main__':
  app.run(main)
