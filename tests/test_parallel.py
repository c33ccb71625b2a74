"""Data parallelism: one step on 8 devices equals the step on 1; the step compiles once."""

import jax
import numpy as np
import pytest

from hrjax.models.pairing import build_model
from hrjax.training import distributed, parallel, state, step
from tests.conftest import tiny_config


def _batch(cfg, seed=0):
  rng = np.random.default_rng(seed)
  b, t, s = cfg.train.batch_size, cfg.data.clip_frames, cfg.data.size
  return dict(video=rng.integers(50, 220, (b, t, s, s, 3)).astype(np.uint8),
              heart=np.stack([rng.normal(size=(b, t)), np.full((b, t), 70.0)], -1).astype(
                  np.float32),
              rr=np.tile(np.array([[0.85, 0.05]], np.float32), (b, 1)))


def _run(cfg, devices, steps):
  mesh = parallel.data_mesh(devices)
  model, tx = build_model(cfg), state.make_optimizer(cfg)
  train_state = jax.device_put(state.init_state(model, tx, 0, _batch(cfg)),
                               parallel.replicated(mesh))
  step_fn = step.compile_train_step(model, tx, mesh)
  before = step.TRACE_COUNT['train_step']
  losses = []
  for i in range(steps):
    train_state, metrics = step_fn(train_state, parallel.put_batch(_batch(cfg, i), mesh))
    losses.append(float(metrics['loss']))
  return jax.device_get(train_state['params']), losses, step.TRACE_COUNT['train_step'] - before


def test_eight_devices_equal_one(tmp_path):
  assert jax.device_count() == 8
  cfg = tiny_config(tmp_path / 'raw', tmp_path / 'store')
  cfg.train.learning_rate = 1e-3  # its own optimizer: steps compiled here, not by other tests
  p1, l1, traces1 = _run(cfg, jax.devices()[:1], steps=3)
  p8, l8, traces8 = _run(cfg, jax.devices(), steps=3)
  assert traces1 == 1 and traces8 == 1  # compiled once, reused for every step
  np.testing.assert_allclose(l1, l8, rtol=1e-4)
  for a, b in zip(jax.tree.leaves(p1), jax.tree.leaves(p8)):
    np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)


def test_put_batch_shards_along_data():
  mesh = parallel.data_mesh()
  batch = dict(video=np.zeros((8, 2, 4, 4, 3), np.uint8), heart=np.zeros((8, 2, 2), np.float32),
               rr=np.zeros((8, 2), np.float32))
  out = parallel.put_batch(batch, mesh)
  assert len(out['video'].sharding.device_set) == 8
  assert out['video'].addressable_shards[0].data.shape[0] == 1


def test_process_slice_takes_this_process_share_and_refuses_an_uneven_batch(monkeypatch):
  monkeypatch.setattr(jax, 'process_count', lambda: 2)
  monkeypatch.setattr(jax, 'process_index', lambda: 1)
  batch = {'video': np.arange(8), 'heart': np.arange(8) * 10}
  got = distributed.process_slice(batch)
  np.testing.assert_array_equal(got['video'], [4, 5, 6, 7])
  np.testing.assert_array_equal(got['heart'], [40, 50, 60, 70])
  with pytest.raises(ValueError, match='does not split over 2 processes'):
    distributed.process_slice({'video': np.arange(7)})


def test_the_step_makes_the_loaders_flips_and_shifts_across_devices(tmp_path):
  """A batch carrying the loader's flips and shifts reaches the step with them (sharded like
  the clips) and trains exactly as the clips flipped and shifted beforehand would."""
  cfg = tiny_config(tmp_path / 'raw', tmp_path / 'store')
  mesh = parallel.data_mesh()
  model, tx = build_model(cfg), state.make_optimizer(cfg)
  drawn = dict(_batch(cfg), flip=np.arange(cfg.train.batch_size) % 3 == 0,
               shift=np.random.default_rng(1).integers(-2, 3, (cfg.train.batch_size, 2)).astype(
                   np.int32))
  made = dict(_batch(cfg), video=np.stack([
      np.roll(v[:, :, ::-1] if f else v, tuple(s), axis=(1, 2))
      for v, f, s in zip(drawn['video'], drawn['flip'], drawn['shift'])]))
  start = jax.device_get(state.init_state(model, tx, 0, made))
  step_fn = step.compile_train_step(model, tx, mesh)
  metrics = []
  for batch in (drawn, made, _batch(cfg)):
    replicated = jax.device_put(jax.tree.map(np.array, start), parallel.replicated(mesh))
    metrics.append(jax.device_get(step_fn(replicated, parallel.put_batch(batch, mesh))[1]))
  for key in ('loss', 'grad_norm'):
    np.testing.assert_allclose(metrics[0][key], metrics[1][key], rtol=1e-6)
  assert abs(float(metrics[0]['loss']) - float(metrics[2]['loss'])) > 1e-4  # they do matter
