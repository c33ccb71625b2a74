"""The training loop, and `train_and_evaluate`: what `python -m hrjax.main` calls to train.

The loop reads an existing clip store (`python -m hrjax.main` builds it first,
`--mode data` only that); it never generates or extracts data.
"""

from __future__ import annotations

import collections
import time
from pathlib import Path

import jax
import numpy as np
import tqdm
from absl import logging

from hrjax import allocator
from hrjax.data import clip_store, pipeline
from hrjax.evaluation import evaluate
from hrjax.training import checkpoint, parallel, resident, restore, state, step
from hrjax.training.writer import MetricWriter

STEPS_IN_FLIGHT = 2  # train steps dispatched ahead of the one the host waits for


def _bound_in_flight(in_flight: collections.deque, metrics) -> None:
  """Wait for the step before last. jax's dispatch runs ahead of the steps and every step
  queued holds its batch: without a bound, a log interval's worth (50 GPU-config batches,
  2 GB). Two in flight keep the next batch ready while one step runs."""
  in_flight.append(metrics)
  if len(in_flight) > STEPS_IN_FLIGHT:
    jax.block_until_ready(in_flight.popleft())


def _example_images(batch: dict) -> dict:
  """The first clips' mean frame and their relative change at one frame, for TensorBoard."""
  video = batch['video'][:4].astype(np.float32)
  mean = video.mean(1)
  rel = video[:, video.shape[1] // 2] / (mean + 1) - 1
  rel = np.clip(0.5 + rel * 25, 0, 1)
  return {'input/mean_frame': mean / 255.0, 'input/relative_change_x25': rel}


def _first_batch(writer, step: int, batch: dict, tables: dict | None) -> None:
  """TensorBoard's look at the input, and what a step sends to the devices."""
  sent = resident.bytes_per_step(batch)
  writer.write_scalars(step, {'train/host_to_device_bytes_per_step': sent,
                              'train/clips_on_device': float(tables is not None)})
  logging.info('Each step sends %d bytes to the devices%s', sent,
               '' if tables is None else ' (its clips are kept there)')
  if tables is not None:  # the clips the plan names, from this process's first copy
    batch = dict(video=np.asarray(tables['video'].addressable_data(0)[batch['row'][:4]]))
  writer.write_images(step, _example_images(batch))


def _log(writer, done, metrics, lr, clips_per_s, pbar):
  metrics = {k: float(v) for k, v in jax.device_get(metrics).items()}
  if not np.isfinite(metrics['loss']):
    raise FloatingPointError(
        f'non-finite loss ({metrics["loss"]}) at step {done}; lower '
        '--config.train.learning_rate or check the clip store for NaNs')
  writer.write_scalars(done, {f'train/{k}': v for k, v in metrics.items()})
  writer.write_scalars(done, {'train/learning_rate': lr, 'train/clips_per_s': clips_per_s})
  pbar.set_postfix(loss=f'{metrics["loss"]:.3f}', acc=f'{metrics["accuracy"]:.2f}',
                   clips_s=f'{clips_per_s:.1f}')


def _check_store(cfg) -> Path:
  """The config's clip store, holding clips of the config's shape."""
  store = Path(cfg.data.store)
  header = clip_store.read_header(store)  # names the store when it is missing
  have, want = (header['clip_frames'], header['size']), (cfg.data.clip_frames, cfg.data.size)
  if have != want:
    raise ValueError(f'{store} holds clips of {have[0]} frames of {have[1]} pixels; the '
                     f'config asks for {want[0]} of {want[1]}')
  return store


def _resume_or_init(mngr, data_iter, built: state.Setup, init_from: str = '') -> dict:
  """The latest checkpoint's state (and the iterator's position); else a fresh state, its
  parameters those of `init_from`'s latest checkpoint where given (fine-tuning: a fresh
  optimizer and step 0)."""
  if mngr.latest_step() is not None:
    restored = checkpoint.restore(mngr, built.abstract_state, data_iter)
    for bad in [s for s in mngr.all_steps() if s > int(restored['step'])]:
      logging.warning('Step %d in %s cannot be read: set aside as %s, training resumes from '
                      'step %d', bad, mngr.directory, checkpoint.set_aside(mngr, bad).name,
                      int(restored['step']))
    logging.info('Resumed from step %d in %s', int(restored['step']), mngr.directory)
    return restored
  fresh = built.init()
  if not init_from:
    return fresh
  source = restore.load(init_from)
  want = jax.tree.map(lambda x: x.shape, fresh['params'])
  have = jax.tree.map(lambda x: x.shape, source.params)
  if want != have:
    raise ValueError(f'train.init_from={init_from}: its model (step {source.step}) has other '
                     'parameter shapes than this config\'s; the model fields must match')
  logging.info('Parameters from %s, step %d', init_from, source.step)
  params = jax.device_put(source.params, parallel.replicated(built.mesh))
  return dict(fresh, params=params, opt_state=built.tx.init(params))


def _data(cfg, store: Path, mesh):
  """(the checkpointable iterator of this process's batches, the training clips kept on
  the devices or None: `resident`)."""
  mix = pipeline.mixed_sources(cfg.train.mix, cfg.train.mix_exclude)
  unlabeled = pipeline.mixed_sources(cfg.train.unlabeled, unlabeled=True)
  batches = pipeline.SubjectBatches(store, 'train', cfg.train.batch_size, cfg.seed,
                                    cfg.train.augment, jax.process_index(), jax.process_count(),
                                    mix=mix, unlabeled=unlabeled,
                                    colour_mix=cfg.train.colour_mix)
  batches, tables = resident.prepare(cfg.data.on_device, batches, mesh)
  return pipeline.train_iterator(batches, cfg.train.steps, cfg.data.workers,
                                 cfg.data.read_ahead, cfg.data.read_threads), tables


def train(cfg, workdir: str | Path, progress: bool = True, stop_after: int | None = None,
          writer: MetricWriter | None = None) -> tuple[state.Setup, dict]:
  """Train on `cfg.data.store` (resuming from the latest checkpoint in `workdir`) up to
  `cfg.train.steps`, or to `stop_after` (the schedule still spans train.steps): the setup
  and the final state, whose last step is checkpointed."""
  allocator.keep_freed_memory(False)  # until the step is compiled and has run once
  workdir = Path(workdir)
  store = _check_store(cfg)
  built = state.setup(cfg)
  parallel.check_batch_size(cfg.train.batch_size, built.mesh)
  data_iter, tables = _data(cfg, store, built.mesh)
  workdir.mkdir(parents=True, exist_ok=True)  # the setting works: the run starts here
  if jax.process_index() == 0:
    (workdir / 'config.json').write_text(cfg.to_json_best_effort(indent=1))
  mngr = checkpoint.manager(workdir, cfg.train.max_checkpoints, writer=True)
  train_state = _resume_or_init(mngr, data_iter, built, cfg.train.init_from)
  n_params = state.parameter_count(train_state['params'])
  logging.info('Model: %s heart, %d parameters; %d devices', cfg.model.representation,
               n_params, jax.device_count())
  if jax.process_index() == 0:
    print(f'hrjax: {n_params:,} parameters, {cfg.model.representation} heart, '
          f'{jax.device_count()} device(s) in {jax.process_count()} process(es)', flush=True)
  writer = writer or MetricWriter(workdir / 'tensorboard')
  step_fn = step.compile_config_step(built.model, built.tx, built.mesh, cfg.train,
                                     on_device=tables is not None)
  on_device = () if tables is None else (tables,)
  schedule = state.learning_rate_schedule(cfg)
  start = int(train_state['step'])
  end = cfg.train.steps if stop_after is None else min(stop_after, cfg.train.steps)
  t_last, step_last = time.time(), start
  pbar = tqdm.tqdm(range(start, end), desc='train', disable=not progress or jax.process_index(),
                   initial=start, total=cfg.train.steps)
  in_flight = collections.deque()  # the metrics of steps dispatched and maybe not yet run
  for i in pbar:
    batch = next(data_iter)
    if i == start:
      _first_batch(writer, i, batch, tables)
    train_state, metrics = step_fn(train_state, parallel.put_batch(batch, built.mesh),
                                   *on_device)
    if i == start:  # from here the step's temporaries come back every step: keep them
      jax.block_until_ready(metrics)
      allocator.keep_freed_memory(True)
    _bound_in_flight(in_flight, metrics)
    done = i + 1
    if done % cfg.train.log_every == 0 or done == cfg.train.steps:
      jax.block_until_ready(metrics)
      rate = (done - step_last) * cfg.train.batch_size / (time.time() - t_last)
      _log(writer, done, metrics, float(schedule(done)), rate, pbar)
      t_last, step_last = time.time(), done
    if done % cfg.train.checkpoint_every == 0 or done in (cfg.train.steps, end):
      checkpoint.save(mngr, done, train_state, data_iter)
  checkpoint.finish(mngr)
  allocator.keep_freed_memory(False)
  return built, train_state


def train_and_evaluate(cfg, workdir: str | Path, progress: bool = True,
                       stop_after: int | None = None,
                       writer: MetricWriter | None = None) -> dict | None:
  """Train (resuming from the latest checkpoint in `workdir`), then evaluate: the report.

  `stop_after`: leave after this step with a checkpoint and no evaluation (a
  time-boxed job; the next call resumes), returning None. `writer`: where the metrics
  go (default: TensorBoard in the workdir); closed at the end.
  """
  writer = writer or MetricWriter(Path(workdir) / 'tensorboard')
  try:
    built, final = train(cfg, workdir, progress, stop_after, writer)
    if int(final['step']) < cfg.train.steps:
      return None
    return evaluate.evaluate_and_write(cfg, workdir, built.model, final['params'], built.mesh,
                                       writer)
  finally:
    writer.close()
