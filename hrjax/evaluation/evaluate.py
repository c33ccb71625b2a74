"""Evaluation: score every heart against every video of a split, learned and classical.

The report holds, per method, 2AFC accuracy with a bootstrap interval over
subjects, N-way top-1 and mean rank, and ROC AUC, all on the very same pairs.
`evaluate_and_write` writes it (files, TensorBoard, the printed table) at the end
of training; `evaluate_checkpoint` restores any saved step first (`--mode eval`).
"""

from __future__ import annotations

import time
from pathlib import Path

import jax
import numpy as np
from absl import logging

from hrjax.data import clip_store
from hrjax.data.recording import METADATA_KEYS
from hrjax.evaluation import baselines, metrics, recordings, region_input, scoring
from hrjax.evaluation import report as report_lib
from hrjax.models.pairing import PairingModel
from hrjax.training import restore, state
from hrjax.training.writer import MetricWriter


def summarise(scores: np.ndarray, rows: list[dict], cfg) -> dict:
  """One method's metrics from its `[N, N]` score matrix over the clips of store `rows`:
  per clip, and per recording (`recordings.recording_two_afc`)."""
  subjects = np.array([r['subject'] for r in rows])
  bpm = np.array([r['mean_bpm'] for r in rows])
  lo, hi = metrics.two_afc_bootstrap(scores, subjects, cfg.eval.bootstrap, cfg.eval.seed)
  out = dict(two_afc=metrics.two_afc(scores, subjects), two_afc_ci95=[lo, hi],
             auc=metrics.roc_auc(scores, subjects))
  for n in cfg.eval.n_way:
    r = metrics.n_way(scores, subjects, n, cfg.eval.n_way_trials, cfg.eval.seed)
    out[f'top1_{n}way'], out[f'mean_rank_{n}way'] = r['top1'], r['mean_rank']
  out['recording'] = recordings.recording_two_afc(scores, rows, cfg.eval.bootstrap, cfg.eval.seed)
  out['two_afc_by_length'] = recordings.two_afc_by_length(scores, rows)
  out['per_subject_two_afc'] = metrics.per_subject_two_afc(scores, subjects)
  out['two_afc_by_rate_gap'] = metrics.two_afc_by_rate_gap(scores, subjects, bpm)
  out['by_label'] = {}
  for key in METADATA_KEYS:  # what the dataset says about each clip: 2AFC per level
    levels = np.array([str(r.get(key, '')) for r in rows])
    if all(key in r for r in rows) and len(set(levels)) > 1:
      out['by_label'][key] = metrics.two_afc_by_level(scores, subjects, levels,
                                                      cfg.eval.bootstrap, cfg.eval.seed)
  fpr, tpr = metrics.roc_curve(scores, subjects)
  out['roc'] = dict(fpr=[round(float(x), 5) for x in fpr], tpr=[round(float(x), 5) for x in tpr])
  return out


def evaluate(model: PairingModel, params, cfg, mesh) -> dict:
  """Learned model and baselines on the split `cfg.data.eval_split` of the store
  `cfg.data.store` (override both to evaluate elsewhere): a report dict."""
  store, split_name = cfg.data.store, cfg.data.eval_split
  clip_store.check_labeled(store, 'evaluated')
  split = clip_store.open_split(store, split_name)
  if cfg.eval.regions:
    split = region_input.restrict(split, cfg.eval.regions, store)
  subjects = split.subjects
  if len(np.unique(subjects)) < 2:
    raise ValueError(f'{store}/{split_name}: fewer than two subjects, no trials to score')
  t0 = time.time()
  methods = {'hrjax': scoring.learned_scores(model, params, split, cfg.eval.batch_size, mesh,
                                             mirror=cfg.eval.mirror_average)}
  for name in cfg.eval.baselines:
    methods[name] = baselines.baseline_scores(name, split, model.representation, model.fps,
                                              model.max_lag)
  summaries = {name: summarise(s, split.rows, cfg) for name, s in methods.items()}
  # Only the learned scores are logits that predict turns into probabilities.
  summaries['hrjax']['calibration'] = metrics.calibration(
      metrics.trial_margins(methods['hrjax'], subjects))
  summaries['hrjax']['recording']['calibration'] = metrics.calibration(
      recordings.recording_margins(methods['hrjax'], split.rows))
  return dict(store=str(store), split=split_name, regions=cfg.eval.regions or 'all',
              representation=model.representation,
              clips=len(split), subjects=int(len(np.unique(subjects))),
              seconds=round(time.time() - t0, 2), methods=summaries)


def evaluate_and_write(cfg, workdir: str | Path, model: PairingModel, params, mesh,
                       writer: MetricWriter, report_dir: str | Path | None = None,
                       checkpoint_step: int | None = None) -> dict:
  """`evaluate`, then the report's files (`report_dir`, default WORKDIR/eval), its
  scalars, figures and text in TensorBoard, and the printed table."""
  report = evaluate(model, params, cfg, mesh)
  report['parameters'] = n_params = state.parameter_count(params)
  if checkpoint_step is not None:
    report['checkpoint_step'] = checkpoint_step
  step = int(cfg.train.steps) if checkpoint_step is None else checkpoint_step
  if jax.process_index() == 0:
    images = report_lib.write_report(report, report_dir or Path(workdir) / 'eval')
    writer.write_images(step, images)
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
  built, trained = restore.restore(cfg, workdir, step)
  logging.info('Restored step %d from %s', trained.step, workdir)
  writer = MetricWriter(workdir / 'tensorboard')
  try:
    return evaluate_and_write(cfg, workdir, trained.model, trained.params, built.mesh, writer,
                              report_dir, checkpoint_step=trained.step)
  finally:
    writer.close()
