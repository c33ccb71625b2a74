"""Several processes (hosts) in one run: join them, and wait for each other.

`initialize` calls `jax.distributed.initialize` when a run spans processes:
from explicit arguments (the --coordinator, --num_processes, --process_id flags),
from HRJAX_COORDINATOR / HRJAX_NUM_PROCESSES / HRJAX_PROCESS_ID, or, under
Slurm or Open MPI, from what JAX detects itself. A single process does nothing.
Each process then feeds only its slice of every batch (`data.pipeline.SubjectBatches`),
process 0 alone writes config, reports and TensorBoard, and all of them take part
in orbax's checkpoint writes.
"""

from __future__ import annotations

import os

import jax


def initialize(coordinator: str | None = None, num_processes: int | None = None,
               process_id: int | None = None) -> bool:
  """Join the other processes of this run; False when there is only this one."""
  env = os.environ
  coordinator = coordinator or env.get('HRJAX_COORDINATOR')
  num_processes = num_processes or int(env.get('HRJAX_NUM_PROCESSES', 0) or 0) or None
  if process_id is None and env.get('HRJAX_PROCESS_ID'):
    process_id = int(env['HRJAX_PROCESS_ID'])
  if num_processes and num_processes > 1:
    if not coordinator or process_id is None:
      raise ValueError('a run of several processes needs a coordinator address (host:port) '
                       'and each process its id (0 .. num_processes-1)')
    jax.distributed.initialize(coordinator, num_processes, process_id)
    return True
  launched = max(int(env.get('SLURM_NTASKS', 1)), int(env.get('OMPI_COMM_WORLD_SIZE', 1)))
  if launched > 1:
    jax.distributed.initialize()  # JAX reads the launcher's environment
    return True
  return False


def barrier(name: str) -> None:
  """Every process waits here until all have arrived (no-op for one process)."""
  if jax.process_count() > 1:
    from jax.experimental import multihost_utils
    multihost_utils.sync_global_devices(name)


def process_slice(batch: dict) -> dict:
  """This process's equal share of a global batch (the whole batch for one process).

  Raises ValueError when the batch does not split evenly: a floored share
  would silently drop the last rows of every batch.
  """
  n, i = jax.process_count(), jax.process_index()
  if n == 1:
    return batch
  out = {}
  for k, v in batch.items():
    if len(v) % n:
      raise ValueError(f'batch of {len(v)} rows ({k!r}) does not split over {n} processes')
    per = len(v) // n
    out[k] = v[i * per:(i + 1) * per]
  return out
