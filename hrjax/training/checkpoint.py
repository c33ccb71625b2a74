"""orbax checkpoints holding the train state and the grain iterator together."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
import time
from pathlib import Path

import grain
import jax
import orbax.checkpoint as ocp
from absl import logging

from hrjax.errors import DISK_ERRORS, InputError

TMP_MARK = '.orbax-checkpoint-tmp'  # in the name of a step's folder until orbax commits it


def manager(workdir: str | Path, max_to_keep: int = 3,
            writer: bool = False) -> ocp.CheckpointManager:
  """The checkpoints of `workdir`. `writer`: the training run, which first removes the
  temporary folders of writes that never finished (a reader must not: a training process
  may be writing one)."""
  folder = Path(workdir).resolve() / 'checkpoints'
  if writer:
    _check_writable(folder)
  return ocp.CheckpointManager(
      folder,
      options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True,
                                           cleanup_tmp_directories=writer),
      item_names=('state', 'data'))


def _check_writable(folder: Path) -> None:
  """Raise an OSError naming `folder` when no file can be written in it (a read-only or full
  disk) before training starts: orbax would find out in a thread of its own and leave the
  main thread waiting for a signal that never comes."""
  try:
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=folder) as probe:  # a name of its own on every host
      probe.write(b'0')
      probe.flush()
  except OSError as e:
    if e.errno not in DISK_ERRORS:
      raise
    raise OSError(e.errno, f'{os.strerror(e.errno)}: no checkpoint can be written here; '
                  f'{_remedy(e.errno)} and run the same command again', str(folder)) from e


def _remedy(code: int) -> str:
  """What a user does about a disk error `code` (one of DISK_ERRORS)."""
  return 'make it writable' if code == errno.EROFS else 'free space'


def save(mngr: ocp.CheckpointManager, step: int, state, data_iter) -> None:
  """Start writing `step` (orbax writes in the background; a failed earlier write surfaces
  here or in `finish`)."""
  with _disk_errors_named(mngr):
    mngr.save(step, args=ocp.args.Composite(
        state=ocp.args.StandardSave(state),
        data=grain.checkpoint.CheckpointSave(data_iter)))


def finish(mngr: ocp.CheckpointManager) -> None:
  """Wait for the writes in flight, then close the manager."""
  with _disk_errors_named(mngr):
    mngr.wait_until_finished()
  mngr.close()


def _disk_errno(error: BaseException) -> int | None:
  """The errno of a full or read-only disk behind `error`, or None. orbax and tensorstore
  wrap the OSError in exceptions of their own, often keeping only its text."""
  seen = set()
  while error is not None and id(error) not in seen:
    seen.add(id(error))
    if isinstance(error, OSError) and error.errno in DISK_ERRORS:
      return error.errno
    for code in DISK_ERRORS:
      if os.strerror(code) in str(error):
        return code
    error = error.__cause__ or error.__context__
  return None


@contextlib.contextmanager
def _disk_errors_named(mngr: ocp.CheckpointManager):
  """A full or read-only disk during a checkpoint write: remove the step's temporary
  folder (so that nothing half-written is left to fill the disk or be taken for a step)
  and raise one OSError naming the step's folder and the step a rerun resumes from."""
  try:
    yield
  except Exception as e:
    code = _disk_errno(e)
    if code is None:
      raise
    with contextlib.suppress(Exception):  # the write's other threads may still be at work
      mngr.wait_until_finished()
    folder = Path(mngr.directory)
    partial = _remove_partial(folder)
    mngr.reload()
    target = folder / partial[0].name.split('.')[0] if partial else folder
    newest = mngr.latest_step()
    resume = (f'resume from step {newest}, the newest complete one' if newest is not None
              else 'start again (no checkpoint was completed yet)')
    raise OSError(code, f'{os.strerror(code)} while writing a checkpoint; {_remedy(code)} and run '
                  f'the same command again to {resume}', str(target)) from e


def _remove_partial(folder: Path, quiet_s: float = 0.5, limit_s: float = 10.0) -> list[Path]:
  """Remove the temporary folders of unfinished writes in `folder`, and again until none has
  reappeared for `quiet_s` (at most `limit_s`): when a save fails in its synchronous part,
  array writes it had started have no thread to wait for and may still land, recreating
  their folders. The folders removed, by name."""
  removed: dict[str, Path] = {}
  start = quiet_since = time.monotonic()
  while time.monotonic() - start < limit_s:
    partial = sorted(folder.glob(f'*{TMP_MARK}*'))
    for tmp in partial:
      shutil.rmtree(tmp, ignore_errors=True)
      removed.setdefault(tmp.name, tmp)
    now = time.monotonic()
    if partial:
      quiet_since = now
    elif now - quiet_since >= quiet_s:
      break
    time.sleep(0.05)
  return sorted(removed.values())


def restore(mngr: ocp.CheckpointManager, abstract_state, data_iter=None, step: int | None = None):
  """Restore the state (into the shapes and shardings of `abstract_state`) and the iterator.

  `step` None: the newest step that can be read; an unreadable newer one (a truncated or
  half-deleted folder: a full disk, a killed copy) is named in a warning and skipped. A
  given `step` that cannot be read raises `InputError` naming its folder.
  """
  steps = sorted(mngr.all_steps(), reverse=True)
  if not steps:
    raise FileNotFoundError(f'no checkpoint in {mngr.directory}')
  if step is not None and step not in steps:
    raise FileNotFoundError(f'no checkpoint of step {step} in {mngr.directory}; saved steps: '
                            f'{", ".join(map(str, sorted(steps)))}')
  candidates = [step] if step is not None else steps
  for candidate in candidates:
    try:
      return _restore_step(mngr, candidate, abstract_state, data_iter)
    except Exception as e:  # orbax and tensorstore raise many kinds for damaged files
      problem = unreadable(mngr, candidate, e)
      if candidate == candidates[-1]:
        raise problem from e
      logging.warning('%s; trying the step before it', problem)


def _restore_step(mngr, step: int, abstract_state, data_iter):
  items = dict(state=ocp.args.StandardRestore(abstract_state))
  if data_iter is not None:
    items['data'] = grain.checkpoint.CheckpointRestore(data_iter)
  return mngr.restore(step, args=ocp.args.Composite(**items)).state


def unreadable(mngr: ocp.CheckpointManager, step: int, error: Exception) -> InputError:
  folder = Path(mngr.directory) / str(step)
  first = str(error).strip().splitlines()[0][:200] if str(error).strip() else ''
  return InputError(folder, f'checkpoint of step {step} cannot be read ({type(error).__name__}'
                    f'{": " + first if first else ""}); remove that folder (rm -r {folder}) '
                    'to use the one before it')


def set_aside(mngr: ocp.CheckpointManager, step: int) -> Path:
  """Rename an unreadable step's folder to `STEP.unreadable` (kept for a look, ignored by
  orbax) so that training can save that step again; the manager re-reads its steps."""
  folder = Path(mngr.directory) / str(step)
  target = folder.with_name(f'{step}.unreadable')
  n = 1
  while target.exists():
    target, n = folder.with_name(f'{step}.unreadable-{n}'), n + 1
  folder.rename(target)
  mngr.reload()
  return target


def abstract(tree, sharding):
  """Shapes, dtypes and shardings to restore into, with no arrays allocated."""
  return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding),
                      tree)
