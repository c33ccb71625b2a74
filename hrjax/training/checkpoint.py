"""orbax checkpoints holding the train state and the grain iterator together."""

from __future__ import annotations

from pathlib import Path

import grain
import jax
import orbax.checkpoint as ocp


def manager(workdir: str | Path, max_to_keep: int = 3) -> ocp.CheckpointManager:
  return ocp.CheckpointManager(
      Path(workdir).resolve() / 'checkpoints',
      options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True),
      item_names=('state', 'data'))


def save(mngr: ocp.CheckpointManager, step: int, state, data_iter) -> None:
  mngr.save(step, args=ocp.args.Composite(
      state=ocp.args.StandardSave(state),
      data=grain.checkpoint.CheckpointSave(data_iter)))


def restore(mngr: ocp.CheckpointManager, abstract_state, data_iter=None, step: int | None = None):
  """Restore the state (into the shapes and shardings of `abstract_state`) and the iterator."""
  step = mngr.latest_step() if step is None else step
  if step is None:
    raise FileNotFoundError(f'no checkpoint in {mngr.directory}')
  if step not in mngr.all_steps():
    raise FileNotFoundError(f'no checkpoint of step {step} in {mngr.directory}; saved steps: '
                            f'{", ".join(map(str, sorted(mngr.all_steps())))}')
  items = dict(state=ocp.args.StandardRestore(abstract_state))
  if data_iter is not None:
    items['data'] = grain.checkpoint.CheckpointRestore(data_iter)
  return mngr.restore(step, args=ocp.args.Composite(**items)).state


def abstract(tree, sharding):
  """Shapes, dtypes and shardings to restore into, with no arrays allocated."""
  return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding),
                      tree)
