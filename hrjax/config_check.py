"""A config's values checked before any work: a negative step count, an unknown
representation or split fractions that do not add up stop the run at once, with the key
named as it is overridden (`--config.train.steps`), instead of training on nonsense or
failing an hour later."""

from __future__ import annotations

import math

from hrjax.data.crop import CROPS
from hrjax.data.face import DETECTORS
from hrjax.errors import InputError
from hrjax.models.classical import CLASSICAL
from hrjax.models.pairing import REPRESENTATIONS
from hrjax.models.spectral import BANDPASSES
from hrjax.models.video import INPUTS

# key: (smallest allowed, integer?)
_AT_LEAST = {
    'train.steps': (1, True), 'train.batch_size': (2, True), 'train.warmup_steps': (0, True),
    'train.log_every': (1, True), 'train.checkpoint_every': (1, True),
    'train.max_checkpoints': (1, True), 'data.clip_frames': (8, True), 'data.size': (8, True),
    'data.train_stride': (1, True), 'data.eval_stride': (1, True), 'data.workers': (0, True),
    'data.read_ahead': (1, True), 'data.read_threads': (1, True), 'eval.batch_size': (1, True),
    'eval.bootstrap': (1, True), 'train.weight_decay': (0, False), 'train.grad_clip': (0, False),
    'train.prior_weight': (0, False), 'train.pearson_weight': (0, False),
    'train.colour_mix': (0, False),
}
_POSITIVE = ('train.learning_rate', 'data.fps')


def _get(cfg, key: str):
  node = cfg
  for part in key.split('.'):
    if part not in node:
      return None
    node = node[part]
  return node


def _bad(key: str, value, rule: str) -> InputError:
  return InputError(f'--config.{key}', f'is {value!r}; {rule}')


def check(cfg) -> None:
  """Raise InputError naming the first key whose value cannot work."""
  for key, (low, whole) in _AT_LEAST.items():
    value = _get(cfg, key)
    if value is None:
      continue
    if whole and (isinstance(value, bool) or not isinstance(value, int)):
      raise _bad(key, value, 'must be a whole number')
    if not math.isfinite(value) or value < low:
      raise _bad(key, value, f'must be at least {low}')
  for key in _POSITIVE:
    value = _get(cfg, key)
    if value is not None and not (math.isfinite(value) and value > 0):
      raise _bad(key, value, 'must be a number above 0')
  _choices(cfg)
  fractions = _get(cfg, 'data.split_fractions')
  if fractions is not None and (len(fractions) != 3 or min(fractions) < 0
                                or abs(sum(fractions) - 1) > 1e-6):
    raise _bad('data.split_fractions', tuple(fractions),
               'must be three non-negative fractions (train, validation, test) adding to 1')
  waveform = _get(cfg, 'model.representation') in (None, 'waveform')
  if (_get(cfg, 'train.pearson_weight') or 0) > 0 and not waveform:
    raise _bad('train.pearson_weight', cfg.train.pearson_weight,
               'needs model.representation=waveform (a rate has no pulse to correlate with)')
  if _get(cfg, 'model.classical') not in (None, 'none') and not waveform:
    raise _bad('model.classical', cfg.model.classical,
               'needs model.representation=waveform (it is a pulse, scored against one)')
  weight = _get(cfg, 'model.classical_weight')
  if weight is not None and not 0 <= weight <= 1:
    raise _bad('model.classical_weight', weight, 'must be between 0 and 1')
  n_way = _get(cfg, 'eval.n_way')
  if n_way is not None and min(n_way) < 2:
    raise _bad('eval.n_way', tuple(n_way), 'each N-way test needs at least 2 videos')


def _choices(cfg) -> None:
  for key, allowed in (('model.representation', REPRESENTATIONS), ('data.crop', CROPS),
                       ('model.input', INPUTS), ('model.classical', CLASSICAL),
                       ('model.bandpass', BANDPASSES), ('data.face_detector', DETECTORS)):
    value = _get(cfg, key)
    if value is not None and value not in allowed:
      raise _bad(key, value, f'must be one of {", ".join(allowed)}')
