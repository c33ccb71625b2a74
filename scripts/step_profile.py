r"""Where the train step's time goes: each compiled op's time, by part of the model and kind.

  python scripts/step_profile.py --config configs/quick.py [--config.model.encode_chunk=1]

Compiles the config's train step as the benchmark does (a random batch of the config's
shape, the allocator of `python -m hrjax.main`), times `--steps` steps (median), then
traces as many under `jax.profiler` and reads the trace: on the CPU each of XLA's
compiled ops (a fusion, a matrix product) is one event on the thread that ran it. Their
times are added per step and grouped by the model part their HLO metadata names (the
video encoder's blocks, forward or backward) and by the kind of op and its result's shape.
The ops of the step's two (or more) threads overlap, so the total is CPU time, which the
step's wall time divides into a share of the threads kept busy. Not all of it: XLA's own
matrix products (`dot_general`, Eigen's) hand their work to the thread pool as tasks and
their events end before it does, so the process's CPU time over the traced steps is
printed beside the events' sum.
"""

import collections
import gzip
import json
import re
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from absl import app, flags
from ml_collections import config_flags

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from hlo_text import entry_instructions  # noqa: E402

from hrjax import allocator  # noqa: E402

config_flags.DEFINE_config_file('config', 'configs/quick.py', 'Experiment config.')
flags.DEFINE_integer('steps', 10, 'Steps timed, then traced.')
flags.DEFINE_integer('top', 20, 'Kinds of op (and result shapes) to list.')
FLAGS = flags.FLAGS

_PART = re.compile(r'(block\d|heart_encoder|attention|colour_skip)')


def op_names(hlo: str) -> dict[str, tuple[str, str]]:
  """Instruction name -> (result shape, the jax op_name it came from) for the entry computation."""
  names = {}
  for name, result, _, rest in entry_instructions(hlo):
    op = re.search(r'op_name="([^"]+)"', rest)
    names[name] = (result.split('{')[0], op.group(1) if op else '')
  return names


def part_of(op_name: str) -> str:
  """'block0 backward', 'video encoder outside the blocks forward', ...: where in the step an
  op belongs."""
  if not op_name:
    return 'unnamed (the optimizer, copies)'
  way = 'backward' if 'transpose(jvp' in op_name else 'forward'
  m = _PART.search(op_name)
  if m:
    return f'{m.group(1)} {way}'
  if 'video_encoder' in op_name:
    return f'video encoder outside the blocks {way}'
  return f'{op_name.split("/")[-1]} {way}'


def op_events(trace_dir: str, names: dict) -> list[dict]:
  """The complete events of a profiler trace that are compiled ops of the step (named as
  its entry computation's instructions; not the runtime's own, its thread pools' included)."""
  path = next(Path(trace_dir).rglob('*.trace.json.gz'))
  events = json.load(gzip.open(path))['traceEvents']
  return [e for e in events if e.get('ph') == 'X' and e['name'] in names]


def _table(title: str, totals: collections.Counter, counts: collections.Counter, steps: int,
           top: int) -> None:
  whole = sum(totals.values())
  print(f'\n| {title} | ms of CPU per step | share | ops per step |\n| --- | --- | --- | --- |')
  for key, us in totals.most_common(top):
    print(f'| {key} | {us / steps / 1e3:.2f} | {us / whole:.1%} | {counts[key] // steps} |')


def main(argv):
  del argv
  import jax
  from benchmark_rows import compiled_train_step
  cfg, steps = FLAGS.config, FLAGS.steps
  compiled, state, batch, _ = compiled_train_step(cfg)
  for _ in range(3):
    state, _ = compiled(state, batch)
  times = []
  for _ in range(steps):
    start = time.perf_counter()
    state, _ = jax.block_until_ready(compiled(state, batch))
    times.append(time.perf_counter() - start)
  with tempfile.TemporaryDirectory() as trace_dir:
    with jax.profiler.trace(trace_dir):
      used = resource.getrusage(resource.RUSAGE_SELF)
      for _ in range(steps):
        state, _ = compiled(state, batch)
      jax.block_until_ready(state)
      after = resource.getrusage(resource.RUSAGE_SELF)
    names = op_names(compiled.as_text())
    events = op_events(trace_dir, names)
  process_cpu = (after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime) / steps
  by_part, by_kind = collections.Counter(), collections.Counter()
  part_n, kind_n = collections.Counter(), collections.Counter()
  for e in events:
    shape, op_name = names[e['name']]
    part = part_of(op_name)
    kind = f"{re.sub(r'[.][0-9]+$', '', e['name'])} {shape} ({part})"
    by_part[part] += e['dur']
    by_kind[kind] += e['dur']
    part_n[part] += 1
    kind_n[kind] += 1
  wall = statistics.median(times)
  cpu = sum(by_part.values()) / steps / 1e6
  print(f'{cfg.model.block_layout} blocks, encode_chunk {cfg.model.encode_chunk}: step '
        f'{wall * 1e3:.1f} ms (median of {steps}); its op events {cpu * 1e3:.1f} ms of CPU per '
        f'step, {cpu / wall:.2f} threads busy on average; the process used '
        f'{process_cpu * 1e3:.1f} ms of CPU per traced step (the profiler\'s own share included)')
  _table('part of the step', by_part, part_n, steps, FLAGS.top)
  _table('kind of op, result shape (part)', by_kind, kind_n, steps, FLAGS.top)


if __name__ == '__main__':
  allocator.tune_malloc()
  app.run(main)
