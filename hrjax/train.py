"""The training loop and `--mode eval`: everything `main` calls, importable from tests."""

from __future__ import annotations

import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import tqdm
from absl import logging

from hrjax import checkpoint, evaluate, parallel, train_step
from hrjax import report as report_lib
from hrjax.data import pipeline, prepare
from hrjax.models.pairing import build_model
from hrjax.writer import MetricWriter


def parameter_count(params) -> int:
  return int(sum(np.prod(x.shape) for x in jax.tree.leaves(params)))


def setup(cfg):
  """Model, optimizer, mesh and an abstract (shape-only) train state."""
  mesh = parallel.data_mesh()
  parallel.check_batch_size(cfg.train.batch_size, mesh)
  model, tx = build_model(cfg), train_step.make_optimizer(cfg)
  t, s = cfg.data.clip_frames, cfg.data.size
  example = dict(video=jnp.zeros((2, t, s, s, 3), jnp.uint8),
                 heart=jnp.zeros((2, t, 2), jnp.float32), rr=jnp.ones((2, 2), jnp.float32))
  shapes = jax.eval_shape(lambda: train_step.init_state(model, tx, cfg.seed, example))
  abstract_state = checkpoint.abstract(shapes, parallel.replicated(mesh))
  return mesh, model, tx, example, abstract_state


def _example_images(batch: dict) -> dict:
  """The first clip's mean frame and its relative change at one frame, for TensorBoard."""
  video = batch['video'][:4].astype(np.float32)
  mean = video.mean(1)
  rel = video[:, video.shape[1] // 2] / (mean + 1) - 1
  rel = np.clip(0.5 + rel * 25, 0, 1)
  return {'input/mean_frame': mean / 255.0, 'input/relative_change_x25': rel}


def _log(writer, step, metrics, lr, clips_per_s, pbar):
  metrics = {k: float(v) for k, v in jax.device_get(metrics).items()}
  if not np.isfinite(metrics['loss']):
    raise FloatingPointError(
        f'non-finite loss ({metrics["loss"]}) at step {step}; lower '
        '--config.train.learning_rate or check the clip store for NaNs')
  writer.write_scalars(step, {f'train/{k}': v for k, v in metrics.items()})
  writer.write_scalars(step, {'train/learning_rate': lr, 'train/clips_per_s': clips_per_s})
  pbar.set_postfix(loss=f'{metrics["loss"]:.3f}', acc=f'{metrics["accuracy"]:.2f}',
                   clips_s=f'{clips_per_s:.1f}')


def _resume_or_init(mngr, data_iter, abstract_state, init, mesh) -> dict:
  """The latest checkpoint's state (and the iterator's position), else a fresh state."""
  if mngr.latest_step() is not None:
    state = checkpoint.restore(mngr, abstract_state, data_iter)
    logging.info('Resumed from step %d in %s', int(state['step']), mngr.directory)
    return state
  return jax.device_put(init(), parallel.replicated(mesh))


def train_and_evaluate(cfg, workdir: str | Path, progress: bool = True,
                       stop_after: int | None = None) -> dict | None:
  """Train (resuming from the latest checkpoint in `workdir`), then evaluate.

  `stop_after`: leave after this step with a checkpoint and no evaluation (a
  time-boxed job; the next call resumes). The schedule still spans train.steps.
  """
  workdir = Path(workdir)
  workdir.mkdir(parents=True, exist_ok=True)
  if jax.process_index() == 0:
    (workdir / 'config.json').write_text(cfg.to_json_best_effort(indent=1))
  store = prepare.ensure_store(cfg, progress=progress)
  mesh, model, tx, example, abstract_state = setup(cfg)

  batches = pipeline.SubjectBatches(store, 'train', cfg.train.batch_size, cfg.seed,
                                    cfg.train.augment, jax.process_index(), jax.process_count())
  data_iter = pipeline.train_iterator(batches, cfg.train.steps, cfg.data.workers)
  mngr = checkpoint.manager(workdir, cfg.train.max_checkpoints)
  state = _resume_or_init(mngr, data_iter, abstract_state,
                          lambda: train_step.init_state(model, tx, cfg.seed, example), mesh)
  n_params = parameter_count(state['params'])
  logging.info('Model: %s heart, %d parameters; %d devices', cfg.model.representation,
               n_params, jax.device_count())
  if jax.process_index() == 0:
    print(f'hrjax: {n_params:,} parameters, {cfg.model.representation} heart, '
          f'{jax.device_count()} device(s) in {jax.process_count()} process(es)', flush=True)

  writer = MetricWriter(workdir / 'tensorboard')
  step_fn = train_step.compile_train_step(model, tx, mesh)
  schedule = train_step.learning_rate_schedule(cfg)
  start = int(state['step'])
  end = cfg.train.steps if stop_after is None else min(stop_after, cfg.train.steps)
  t_last, step_last = time.time(), start
  pbar = tqdm.tqdm(range(start, end), desc='train', disable=not progress or jax.process_index(),
                   initial=start, total=cfg.train.steps)
  for step in pbar:
    batch = next(data_iter)
    if step == start:
      writer.write_images(step, _example_images(batch))
    state, metrics = step_fn(state, parallel.put_batch(batch, mesh))
    done = step + 1
    if done % cfg.train.log_every == 0 or done == cfg.train.steps:
      jax.block_until_ready(metrics)
      rate = (done - step_last) * cfg.train.batch_size / (time.time() - t_last)
      _log(writer, done, metrics, float(schedule(done)), rate, pbar)
      t_last, step_last = time.time(), done
    if done % cfg.train.checkpoint_every == 0 or done in (cfg.train.steps, end):
      checkpoint.save(mngr, done, state, data_iter)
  mngr.wait_until_finished()
  if end < cfg.train.steps:
    mngr.close()
    writer.close()
    return None
  report = _evaluate_and_write(cfg, workdir, model, state['params'], mesh, writer, n_params)
  mngr.close()
  writer.close()
  return report


def _evaluate_and_write(cfg, workdir, model, params, mesh, writer, n_params,
                        report_dir=None, checkpoint_step=None) -> dict:
  report = evaluate.evaluate(model, params, cfg, mesh)
  report['parameters'] = n_params
  if checkpoint_step is not None:
    report['checkpoint_step'] = checkpoint_step
  step = int(cfg.train.steps) if checkpoint_step is None else checkpoint_step
  if jax.process_index() == 0:
    out = Path(report_dir or Path(workdir) / 'eval')
    report_lib.write_report(report, out)
    writer.write_images(step, report_lib.read_figures(out))
    writer.write_text(step, 'eval/report', report_lib.markdown(report))
  for name, m in report['methods'].items():
    writer.write_scalars(step, {f'eval/{name}/{k}': v for k, v in m.items()
                                if isinstance(v, float) and np.isfinite(v)})
  writer.write_hparams(dict(representation=cfg.model.representation,
                            difficulty=cfg.synthetic.difficulty, steps=cfg.train.steps,
                            batch_size=cfg.train.batch_size, lr=cfg.train.learning_rate,
                            channels=str(tuple(cfg.model.channels)), parameters=n_params),
                       {'two_afc': report['methods']['hrjax']['two_afc'],
                        'auc': report['methods']['hrjax']['auc']})
  writer.flush()
  if jax.process_index() == 0:
    print(report_lib.format_table(report), flush=True)
  return report


def evaluate_checkpoint(cfg, workdir: str | Path, step: int | None = None,
                        report_dir: str | Path | None = None) -> dict:
  """`--mode eval`: restore a checkpoint (latest by default) and evaluate only.

  `report_dir` (default WORKDIR/eval): where the report goes, e.g. when the
  same model is evaluated on another store (--config.data.store=...).
  """
  workdir = Path(workdir)
  mesh, model, _, _, abstract_state = setup(cfg)
  mngr = checkpoint.manager(workdir, cfg.train.max_checkpoints)
  state = checkpoint.restore(mngr, abstract_state, step=step)
  logging.info('Restored step %d from %s', int(state['step']), workdir)
  writer = MetricWriter(workdir / 'tensorboard')
  report = _evaluate_and_write(cfg, workdir, model, state['params'], mesh, writer,
                               parameter_count(state['params']), report_dir,
                               checkpoint_step=int(state['step']))
  mngr.close()
  writer.close()
  return report

