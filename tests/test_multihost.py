"""Two processes on localhost train together and agree with one process on the same batches."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np

from hrjax.training import restore

WORKER = Path(__file__).with_name('multihost_worker.py')


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(('localhost', 0))
    return s.getsockname()[1]


def _run(cfg, workdir, processes):
  port = _free_port()
  env = {k: v for k, v in os.environ.items() if k != 'XLA_FLAGS'}
  procs = [subprocess.Popen([sys.executable, str(WORKER), cfg.data.root, cfg.data.store,
                             str(workdir), str(i), str(processes), str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
           for i in range(processes)]
  outs = [p.communicate(timeout=300)[0] for p in procs]
  for p, out in zip(procs, outs):
    assert p.returncode == 0, out[-3000:]
  return outs


def _params(workdir):
  _, _, params, step = restore.load(workdir)
  return jax.device_get(params), step


def test_two_processes_train_like_one(tiny_run, tmp_path):
  """The same config and batches as the session's one-process run (`tiny_run`, 8 devices in
  this process), trained by two processes of one device each."""
  cfg, one, single = tiny_run
  outs = _run(cfg, tmp_path / 'two', 2)
  assert 'in 2 process(es)' in outs[0] and 'hrjax:' not in outs[1]  # process 0 speaks
  p_two, s_two = _params(tmp_path / 'two')
  p_one, s_one = _params(one)
  assert s_two == s_one == cfg.train.steps
  for a, b in zip(jax.tree.leaves(p_two), jax.tree.leaves(p_one)):
    np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-6)
  report = json.loads((tmp_path / 'two' / 'eval' / 'report.json').read_text())
  assert report['clips'] == single['clips']
  assert abs(report['methods']['hrjax']['two_afc'] - single['methods']['hrjax']['two_afc']) < 0.02
