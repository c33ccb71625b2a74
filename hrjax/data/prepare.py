"""Make sure the clip store a config names exists: generate, extract, or check it."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from absl import logging

from hrjax.data import clip_store, extract
from hrjax.data.synthetic import generate


def synthetic_settings(cfg) -> dict:
  s = cfg.synthetic
  return dict(num_subjects=s.num_subjects, recordings_per_subject=s.recordings_per_subject,
              duration_s=s.duration_s, fps=cfg.data.fps, size=s.size,
              knob_ranges={k: tuple(v) for k, v in s.knobs.items()}, seed=s.seed,
              pulse_regions=s.pulse_regions)


def _check_synthetic(root: Path, wanted: dict) -> None:
  meta = json.loads((root / 'synthetic.json').read_text())
  have = dict(num_subjects=len({r['subject'] for r in meta['recordings']}),
              duration_s=meta['duration_s'], fps=meta['fps'], size=meta['size'],
              seed=meta['seed'], pulse_regions=meta['pulse_regions'],
              knob_ranges={k: tuple(v) for k, v in meta['knob_ranges'].items()})
  diff = {k: (have[k], wanted[k]) for k in have if have[k] != wanted[k]}
  if diff:
    raise ValueError(f'{root} was generated with other settings {diff} (have, wanted); '
                     'remove it or point --config.data.root elsewhere')


def ensure_store(cfg, progress: bool = True) -> Path:
  """The clip store the config names: checked, or generated and extracted first.

  With several processes, process 0 builds it while the others wait; they then
  read it from the same path (a shared file system, or a copy made beforehand).
  """
  import jax

  from hrjax import distributed
  if jax.process_index() == 0:
    store = _ensure_store(cfg, progress)
  distributed.barrier('clip store ready')
  if jax.process_index() != 0:
    store = Path(cfg.data.store)
    if not (store / 'header.json').is_file():
      raise FileNotFoundError(f'{store}: process {jax.process_index()} cannot see the clip '
                              'store process 0 built; put it on a shared file system')
    _ensure_store(cfg, progress)  # checks its settings
  return store


def _ensure_store(cfg, progress: bool) -> Path:
  store, root = Path(cfg.data.store), Path(cfg.data.root)
  settings = extract.ExtractSettings.from_config(cfg.data)
  if store.exists():
    header = clip_store.read_header(store)
    wanted = json.loads(json.dumps(dataclasses.asdict(settings)))
    # Settings added after a store was written hold their defaults in it.
    have = {**json.loads(json.dumps(dataclasses.asdict(extract.ExtractSettings()))),
            **header['settings']}
    if have != wanted:
      diff = {k: (have.get(k), v) for k, v in wanted.items() if have.get(k) != v}
      raise ValueError(f'{store} was extracted with other settings {diff} (have, wanted); '
                       'remove it or point --config.data.store elsewhere')
    return store
  if cfg.synthetic.enabled:
    wanted = synthetic_settings(cfg)
    if root.exists() and (root / 'synthetic.json').exists():
      _check_synthetic(root, wanted)
    elif not root.exists():
      logging.info('Generating the synthetic dataset at %s', root)
      generate.generate_dataset(root, progress=progress, **wanted)
  logging.info('Extracting %s (%s) into the clip store %s', root, cfg.data.dataset, store)
  summary = extract.extract(cfg.data.dataset, root, store, settings, progress=progress)
  logging.info('Clip store %s: %s clips per split', store, summary['splits'])
  return store
