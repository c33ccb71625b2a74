"""A trained model from its workdir: the config it was trained with, the model, its parameters.

A workdir's `config.json` is merged onto today's defaults (`configs/default.py`)
here and nowhere else, so a run saved before a config field existed restores
with that field's default.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import NamedTuple

import ml_collections

from hrjax.models.pairing import PairingModel
from hrjax.training import checkpoint, state

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / 'configs' / 'default.py'


class Trained(NamedTuple):
  config: ml_collections.ConfigDict
  model: PairingModel
  params: dict
  step: int


def default_config() -> ml_collections.ConfigDict | None:
  """`configs/default.py`'s config, or None where the package runs without its repository."""
  if not DEFAULT_CONFIG.is_file():
    return None
  spec = importlib.util.spec_from_file_location('hrjax_default_config', DEFAULT_CONFIG)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


def _merge(defaults: dict, saved: dict) -> dict:
  """`saved` over `defaults`, section by section: keys `saved` lacks keep their default."""
  out = dict(defaults)
  for key, value in saved.items():
    both = isinstance(value, dict) and isinstance(defaults.get(key), dict)
    out[key] = _merge(defaults[key], value) if both else value
  return out


def load_config(workdir: str | Path) -> ml_collections.ConfigDict:
  path = Path(workdir) / 'config.json'
  if not path.is_file():
    raise FileNotFoundError(f'{path}: no config.json: not a training workdir')
  saved = json.loads(path.read_text())
  defaults = default_config()
  if defaults is not None:
    saved = _merge(json.loads(defaults.to_json()), saved)
  return ml_collections.ConfigDict(saved)


def restore(cfg, workdir: str | Path, step: int | None = None) -> tuple[state.Setup, Trained]:
  """`cfg`'s setup and the checkpoint of `workdir` at `step` (default: the latest)."""
  built = state.setup(cfg)
  mngr = checkpoint.manager(workdir, cfg.train.max_checkpoints)
  try:
    restored = checkpoint.restore(mngr, built.abstract_state, step=step)
  finally:
    mngr.close()
  return built, Trained(cfg, built.model, restored['params'], int(restored['step']))


def load(workdir: str | Path, step: int | None = None) -> Trained:
  """The checkpoint at `step` (default: the latest) with the config it was trained with."""
  return restore(load_config(workdir), workdir, step)[1]
