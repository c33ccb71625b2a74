"""One process of a multi-process training run on this machine's CPU (for test_multihost).

  python tests/multihost_worker.py ROOT STORE WORKDIR PROCESS_ID NUM_PROCESSES PORT STEPS

Trains the tiny test config for STEPS steps with the global batch of the tests,
each process feeding its own slice, through hrjax.distributed as `main` does.
"""

import os
import sys
from pathlib import Path

os.environ['JAX_PLATFORMS'] = 'cpu'
os.environ['XLA_FLAGS'] = '--xla_force_host_platform_device_count=1'
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(root, store, workdir, process_id, num_processes, port, steps):
  from hrjax import distributed, train
  from tests.tiny import tiny_config
  distributed.initialize(f'localhost:{port}', int(num_processes), int(process_id))
  cfg = tiny_config(root, store)
  cfg.train.steps, cfg.train.checkpoint_every, cfg.train.log_every = int(steps), 2, 2
  train.train_and_evaluate(cfg, workdir, progress=False)


if __name__ == '__main__':
  main(*sys.argv[1:])
