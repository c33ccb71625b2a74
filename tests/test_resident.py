"""Clips kept on the devices: the same batches, the same training, a plan of a few bytes."""

import types

import jax
import numpy as np
import pytest

from hrjax.data import pipeline
from hrjax.training import parallel, resident, restore, train


def _batches(store, **kwargs):
  mix = pipeline.Source(store, 'test', 2)  # a second source: rows run on past the first
  return pipeline.SubjectBatches(store, 'train', 6, seed=3, augment=True, mix=(mix,), **kwargs)


@jax.jit
def _gather(batch, tables):
  return resident.gather(batch, tables)


@pytest.mark.parametrize('colour_mix', [0.0, 0.2])
def test_named_clips_gathered_on_the_devices_are_the_loaders_batch(tiny_data, colour_mix):
  _, store = tiny_data
  host = _batches(store, colour_mix=colour_mix)
  named, tables = resident.prepare('on', host, parallel.data_mesh())
  assert tables is not None and named.rows_only and not host.rows_only
  for k in (0, 7):
    want, plan = host(k), named(k)
    assert 'video' not in plan and ('colour' in plan) == (colour_mix > 0)
    got = jax.device_get(_gather(plan, tables))
    assert sorted(got) == sorted(want)
    for key in ('heart', 'rr', 'clip', 'flip', 'shift'):
      np.testing.assert_array_equal(got[key], want[key])
    if colour_mix == 0:
      np.testing.assert_array_equal(got['video'], want['video'])
    else:  # the same matrices in float32; a sum that lands on a half may round apart
      diff = np.abs(got['video'].astype(int) - want['video'])
      assert diff.max() <= 1 and (diff > 0).mean() < 1e-3
    assert resident.bytes_per_step(plan) < 0.01 * resident.bytes_per_step(want)  # tiny clips


def test_training_on_the_devices_is_training_from_the_host(tiny_run, tmp_path):
  """Three steps with the clips on the devices, resumed from the host for the last three:
  the parameters of the tiny run (its clips kept on the devices, 'auto' on this machine)."""
  cfg, full, _ = tiny_run
  modes = {}
  for mode in ('on', 'off'):
    modes[mode] = cfg.copy_and_resolve_references()
    modes[mode].data.on_device = mode
  train.train(modes['on'], tmp_path, progress=False, stop_after=3)
  _, final = train.train(modes['off'], tmp_path, progress=False)
  _, _, want, step = restore.load(full)
  assert step == int(final['step']) == 6
  for a, b in zip(jax.tree.leaves(jax.device_get(final['params'])),
                  jax.tree.leaves(jax.device_get(want))):
    np.testing.assert_array_equal(a, b)


def test_auto_keeps_clips_where_they_fit_in_a_share_of_the_memory(tiny_data, monkeypatch,
                                                                   tmp_path):
  def device(platform, stats=None):
    return types.SimpleNamespace(platform=platform, memory_stats=lambda: stats)

  gpu = resident.DEVICE_SHARE['other']
  assert resident.fits(300, device('gpu', {'bytes_limit': int(300 / gpu)}))
  assert not resident.fits(301, device('gpu', {'bytes_limit': int(300 / gpu)}))
  assert not resident.fits(1, device('gpu', None))  # a backend that does not say
  monkeypatch.setattr(resident, '_physical_memory', lambda: int(300 / resident.DEVICE_SHARE['cpu']))
  assert resident.fits(300, device('cpu')) and not resident.fits(301, device('cpu'))
  monkeypatch.undo()
  limit = tmp_path / 'memory.max'  # a job's cgroup allows less than the machine has
  monkeypatch.setattr(resident, 'CGROUP_LIMITS', (str(tmp_path / 'absent'), str(limit)))
  machine = resident._physical_memory()
  limit.write_text('max\n')
  assert resident._physical_memory() == machine > 0
  limit.write_text(f'{2 ** 30}\n')
  assert resident._physical_memory() == min(machine, 2 ** 30)
  monkeypatch.undo()
  _, store = tiny_data
  batches = _batches(store)
  mesh = parallel.data_mesh()
  assert resident.keeps('auto', batches, mesh.devices.flat[0])  # a tiny store on this CPU
  assert resident.prepare('off', batches, mesh) == (batches, None)
  with pytest.raises(ValueError, match='data.on_device must be one of'):
    resident.prepare('yes', batches, mesh)
