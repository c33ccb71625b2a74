"""A trained model from a workdir: the config it was trained with, the model, its parameters."""

from __future__ import annotations

import json
from pathlib import Path

import ml_collections

from hrjax import checkpoint
from hrjax.models.pairing import PairingModel


def load_config(workdir: str | Path) -> ml_collections.ConfigDict:
  path = Path(workdir) / 'config.json'
  if not path.is_file():
    raise FileNotFoundError(f'{path}: no config.json: not a training workdir')
  return ml_collections.ConfigDict(json.loads(path.read_text()))


def load(workdir: str | Path, step: int | None = None
         ) -> tuple[ml_collections.ConfigDict, PairingModel, dict, int]:
  """(config, model, parameters, step) of the checkpoint at `step` (default: latest)."""
  from hrjax import train  # the abstract train state comes from the training setup
  cfg = load_config(workdir)
  _, model, _, _, abstract_state = train.setup(cfg)
  mngr = checkpoint.manager(workdir, cfg.train.max_checkpoints)
  try:
    state = checkpoint.restore(mngr, abstract_state, step=step)
  finally:
    mngr.close()
  return cfg, model, state['params'], int(state['step'])
