"""Make sure the clip store a config names exists: generate, extract, or check it.

Called by the entry point (`python -m hrjax.main`, every mode but eval) before
training; the training loop itself only reads the store.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from absl import logging

from hrjax.data import adapters, clip_store, extract
from hrjax.data.synthetic import generate, presets


def synthetic_settings(cfg) -> dict:
  s = cfg.synthetic
  return dict(num_subjects=s.num_subjects, recordings_per_subject=s.recordings_per_subject,
              duration_s=s.duration_s, fps=cfg.data.fps, size=s.size,
              knob_ranges={k: tuple(v) for k, v in s.knobs.items()}, seed=s.seed,
              pulse_regions=s.pulse_regions)


def _check_synthetic(root: Path, wanted: dict) -> None:
  meta = json.loads((root / 'synthetic.json').read_text())
  # Knobs added after a dataset was written: it was made with their no-op defaults.
  added = {k: presets.PRESETS['default'][k] for k in presets.ENCODING_KNOBS}
  have = dict(num_subjects=len({r['subject'] for r in meta['recordings']}),
              duration_s=meta['duration_s'], fps=meta['fps'], size=meta['size'],
              seed=meta['seed'], pulse_regions=meta['pulse_regions'],
              knob_ranges={k: tuple(v) for k, v in {**added, **meta['knob_ranges']}.items()})
  diff = {k: (have[k], wanted[k]) for k in have if have[k] != wanted[k]}
  if diff:
    raise ValueError(f'{root} was generated with other settings {diff} (have, wanted); '
                     'remove it or point --config.data.root elsewhere')


def check_store(cfg) -> Path:
  """The existing store the config names, if it was extracted with the config's settings
  and its sources (the dataset its header names) have not changed since; where they are
  gone (a store may outlive its videos), with a warning.

  Raises ValueError naming the setting or the source file that differs.
  """
  store = Path(cfg.data.store)
  header = clip_store.read_header(store)
  settings = extract.ExtractSettings.from_config(cfg.data)
  wanted = json.loads(json.dumps(dataclasses.asdict(settings)))
  # Settings added after a store was written hold their defaults in it.
  have = {**json.loads(json.dumps(dataclasses.asdict(extract.ExtractSettings()))),
          **header['settings']}
  for where in ('face_python',):  # where a tool lives, not what the store holds
    have.pop(where, None), wanted.pop(where, None)
  if have != wanted:
    diff = {k: (have.get(k), v) for k, v in wanted.items() if have.get(k) != v}
    raise ValueError(f'{store} was extracted with other settings {diff} (have, wanted); '
                     'remove it or point --config.data.store elsewhere')
  root = Path(header['root'])
  if not root.exists():
    logging.warning('%s: the dataset it was extracted from (%s) is not there; its sources '
                    'are not checked', store, root)
    return store
  recordings = adapters.find_recordings(header['dataset'], root)
  changed = clip_store.changed_source(header, adapters.source_files(recordings), root)
  if changed:
    raise ValueError(f'{store} is stale: {changed} (in {root}); remove the store to extract '
                     'it again, or point --config.data.store elsewhere')
  return store


def ensure_store(cfg, progress: bool = True) -> Path:
  """The clip store the config names: checked (`check_store`), or generated and extracted."""
  store, root = Path(cfg.data.store), Path(cfg.data.root)
  if store.exists():
    return check_store(cfg)
  settings = extract.ExtractSettings.from_config(cfg.data)
  if cfg.synthetic.enabled:
    wanted = synthetic_settings(cfg)
    if root.exists() and (root / 'synthetic.json').exists():
      _check_synthetic(root, wanted)
    elif not root.exists():
      logging.info('Generating the synthetic dataset at %s', root)
      generate.generate_dataset(root, progress=progress, workers=cfg.data.ingest_workers,
                                **wanted)
  logging.info('Extracting %s (%s) into the clip store %s', root, cfg.data.dataset, store)
  summary = extract.extract(cfg.data.dataset, root, store, settings, progress=progress,
                            workers=cfg.data.ingest_workers)
  logging.info('Clip store %s: %s clips per split', store, summary['splits'])
  return store
