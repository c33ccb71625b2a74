"""Data parallelism: a 1-D `data` mesh over every device; parameters replicated, batch sharded."""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

MODEL_INPUTS = ('video', 'heart', 'rr')
# a batch with unlabeled clips; the flips and shifts the step makes (pipeline.SubjectBatches);
# the rows and colour matrices of clips kept on the devices (training/resident.py)
OPTIONAL_INPUTS = ('labeled', 'flip', 'shift', 'row', 'colour')


def data_mesh(devices=None) -> jax.sharding.Mesh:
  """A 1-D `data` mesh over `devices` (default: every device of every process)."""
  devices = jax.devices() if devices is None else list(devices)
  # Auto axes: XLA's partitioner places the all-reduce of gradients and the gather
  # behind the batch-by-batch score matrix; the model code stays sharding-free.
  return jax.make_mesh((len(devices),), ('data',), axis_types=(jax.sharding.AxisType.Auto,),
                       devices=devices)


def replicated(mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def batch_sharded(mesh) -> NamedSharding:
  return NamedSharding(mesh, P('data'))


def check_batch_size(batch_size: int, mesh) -> None:
  n = mesh.devices.size
  if batch_size % n:
    raise ValueError(f'batch_size {batch_size} must be divisible by the {n} devices')


def put_batch(batch: dict, mesh) -> dict:
  """This process's slice of a global batch -> global arrays sharded along `data`."""
  sharding = batch_sharded(mesh)
  return {k: jax.make_array_from_process_local_data(sharding, np.asarray(batch[k]))
          for k in (*MODEL_INPUTS, *OPTIONAL_INPUTS) if k in batch}
