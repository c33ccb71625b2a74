"""One process of a multi-process training run on this machine's CPU (for test_multihost).

  python tests/multihost_worker.py ROOT STORE WORKDIR PROCESS_ID NUM_PROCESSES PORT

Trains the tiny test config with its global batch, each process feeding its own
slice, through hrjax.training.distributed as `main` does, then evaluates the
learned model alone (the classical baselines do not depend on the processes).
"""

import os
import sys
from pathlib import Path

os.environ['JAX_PLATFORMS'] = 'cpu'
os.environ['XLA_FLAGS'] = '--xla_force_host_platform_device_count=1'
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(root, store, workdir, process_id, num_processes, port):
  from hrjax.training import distributed, train
  from tests.tiny import tiny_config
  distributed.initialize(f'localhost:{port}', int(num_processes), int(process_id))
  cfg = tiny_config(root, store)
  cfg.eval.baselines = ()
  train.train_and_evaluate(cfg, workdir, progress=False)


if __name__ == '__main__':
  main(*sys.argv[1:])
