"""A training run of the tiny test config that crashes (for test_crash).

  python tests/crash_worker.py ROOT STORE WORKDIR after-step K
  python tests/crash_worker.py ROOT STORE WORKDIR in-checkpoint K
  python tests/crash_worker.py ROOT STORE WORKDIR as-is 0

`after-step K`: killed once this process's K-th train step has computed, before its
checkpoint is written. `in-checkpoint K`: killed while orbax writes a checkpoint of step
K or later, the moment its temporary folder (`STEP.orbax-checkpoint-tmp...`) is seen,
with whatever files it holds by then; the folder's name is printed first. Every step is
checkpointed so that each one offers a write to be killed in. `as-is`: no kill, run as
`python -m hrjax.main` runs it (a user error: one line on stderr, exit status 1), for a
test that puts WORKDIR/checkpoints on a small filesystem. The devices are those of the
test process (tests/conftest.py), so that the run computes what it would there.
"""

import os
import signal
import sys
import threading
import time
from pathlib import Path

os.environ['JAX_PLATFORMS'] = 'cpu'
os.environ['XLA_FLAGS'] = '--xla_force_host_platform_device_count=8'
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _kill():
  sys.stdout.flush()
  os.kill(os.getpid(), signal.SIGKILL)


def _kill_after_step(k: int) -> None:
  """Make the train step SIGKILL this process once it has computed its k-th step."""
  import jax

  from hrjax.training import step
  compile_train_step = step.compile_train_step

  def killing(*args, **kwargs):
    fn, calls = compile_train_step(*args, **kwargs), [0]

    def run(*a):
      out = fn(*a)
      calls[0] += 1
      if calls[0] == k:
        jax.block_until_ready(out)
        print(f'killed after step {calls[0]}', flush=True)
        _kill()
      return out
    return run
  step.compile_train_step = killing


def _kill_in_checkpoint(workdir: Path, k: int) -> None:
  """A thread that SIGKILLs this process when a checkpoint of step >= k is being written."""
  folder = workdir / 'checkpoints'

  def watch():
    while True:
      try:
        names = os.listdir(folder)
      except FileNotFoundError:
        names = []
      for name in names:
        head = name.split('.', 1)[0]
        if 'tmp' in name and head.isdigit() and int(head) >= k:
          print(f'killed writing {name}', flush=True)
          _kill()
      time.sleep(0.0002)
  threading.Thread(target=watch, daemon=True).start()


def main(root, store, workdir, how, k):
  from hrjax import cli
  from hrjax.training import train
  from tests.tiny import tiny_config
  cfg = tiny_config(root, store)
  cfg.train.checkpoint_every = 1
  if how == 'after-step':
    _kill_after_step(int(k))
  elif how == 'in-checkpoint':
    _kill_in_checkpoint(Path(workdir), int(k))
  elif how != 'as-is':
    raise SystemExit(f'unknown crash {how!r}: after-step, in-checkpoint or as-is')
  with cli.user_errors('hrjax'):
    train.train(cfg, workdir, progress=False)
  print('finished without being killed', flush=True)


if __name__ == '__main__':
  main(*sys.argv[1:])
