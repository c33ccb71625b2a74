"""The pure, compiled train step: `(state, batch) -> (state, metrics)`."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import optax

from hrjax.models import spectral, spectral_priors
from hrjax.models.pairing import PairingModel, contrastive_loss
from hrjax.training import augment, parallel, resident

TRACE_COUNT = {'train_step': 0}  # bumped at trace time: tests check the step compiles once


def train_step(state: dict, batch: dict, *, model: PairingModel, tx,
               prior_weight: float = 1.0, pearson_weight: float = 0.0) -> tuple[dict, dict]:
  """(state, batch) -> (state, metrics). Deterministic: the loader owns the randomness.

  A batch with a `labeled` mask (the loader adds one when `train.unlabeled` draws clips
  without a usable heart) takes the contrastive loss over its labeled clips and adds
  `prior_weight` times the spectral priors of the unlabeled ones' pulse. A
  `pearson_weight` adds that times `pearson_loss` over the labeled clips.
  """
  TRACE_COUNT['train_step'] += 1
  labeled = batch.get('labeled')
  video = batch['video']
  if 'shift' in batch:  # the loader's augmentation, drawn there and made here
    video = augment.flip_and_shift(video, batch['flip'], batch['shift'])

  def loss_fn(params):
    variables, terms = {'params': params}, {}
    if labeled is None and not pearson_weight:
      logits = model.apply(variables, video, batch['heart'], batch['rr'])
      return contrastive_loss(logits), (logits, terms)
    logits, pulse = model.apply(variables, video, batch['heart'], batch['rr'],
                                method=PairingModel.logits_and_pulse)
    loss = contrastive_loss(logits, labeled)
    if labeled is not None:
      terms['spectral_prior'] = spectral_priors.spectral_prior_loss(
          pulse, 1.0 - labeled, model.fps, spectral.bpm_grid())
      loss += prior_weight * terms['spectral_prior']
    if pearson_weight:
      terms['pearson'] = pearson_loss(pulse, batch['heart'], labeled, model.fps, model.max_lag,
                                      model.bandpass)
      loss += pearson_weight * terms['pearson']
    return loss, (logits, terms)

  (loss, (logits, terms)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state['params'])
  updates, opt_state = tx.update(grads, state['opt_state'], state['params'])
  params = optax.apply_updates(state['params'], updates)
  labels = jnp.arange(logits.shape[0])
  if labeled is None:
    accuracy = (logits.argmax(1) == labels).mean()
  else:  # among the labeled clips only
    right = jnp.where(labeled[None, :] > 0, logits, -jnp.inf).argmax(1) == labels
    accuracy = (right * labeled).sum() / jnp.maximum(labeled.sum(), 1.0)
  metrics = dict(loss=loss, grad_norm=optax.tree.norm(grads), accuracy=accuracy,
                 scale=jnp.exp(params['log_scale']))
  metrics.update(terms)
  return dict(params=params, opt_state=opt_state, step=state['step'] + 1), metrics


def pearson_loss(pulse: jax.Array, heart: jax.Array, labeled: jax.Array | None, fps: float,
                 max_lag: int, bandpass: str = 'fft') -> jax.Array:
  """1 - the Pearson correlation of each labeled clip's video pulse features `[B, T, D]`
  with its recorded pulse (`heart[..., 0]`, band-passed as the features are), averaged
  over the D channels, at the best of the lags the score searches (a fingertip PPG's
  pulse arrives later than the face's): the negative-Pearson loss of rPPG training
  (PhysNet, FactorizePhys). Unlike the contrastive loss it does not saturate once a
  clip's own heart wins: it keeps pulling the features toward the pulse itself."""
  ppg = spectral.standardise(spectral.bandpass(bandpass, heart[..., :1], fps))
  corr = spectral.paired_lagged_correlation(jnp.broadcast_to(ppg, pulse.shape), pulse,
                                            max_lag).max(-1)
  if labeled is None:
    return (1.0 - corr).mean()
  return ((1.0 - corr) * labeled).sum() / jnp.maximum(labeled.sum(), 1.0)


def resident_train_step(state: dict, batch: dict, tables: dict, **kwargs) -> tuple[dict, dict]:
  """`train_step` of a batch that names its clips in `tables`, the clips kept on the
  devices (`resident`): gathered and colour-mixed here, then the same step."""
  return train_step(state, resident.gather(batch, tables), **kwargs)


@functools.lru_cache(maxsize=8)
def compile_train_step(model: PairingModel, tx, mesh, prior_weight: float = 1.0,
                       pearson_weight: float = 0.0, on_device: bool = False):
  """jit over the `data` mesh: state replicated and donated, batch sharded along `data`.
  One per (model, optimizer, mesh, weight): a second run in the same process reuses its
  compile. `on_device`: the step takes `(state, batch, tables)`, the clips in `tables`
  (replicated) and the batch naming them (`resident_train_step`)."""
  step = functools.partial(resident_train_step if on_device else train_step, model=model,
                           tx=tx, prior_weight=prior_weight, pearson_weight=pearson_weight)
  inputs = (parallel.replicated(mesh), parallel.batch_sharded(mesh))
  return jax.jit(step, in_shardings=inputs + ((parallel.replicated(mesh),) if on_device else ()),
                 out_shardings=(parallel.replicated(mesh), parallel.replicated(mesh)),
                 donate_argnums=0)


def compile_config_step(model: PairingModel, tx, mesh, train_cfg, on_device: bool = False):
  """The step a config trains with (`train_cfg`: its `train` section), for the training loop
  and the benchmark alike. A classical channel (model.classical) joins the score when pairs
  are scored, not the loss: trained beside it, the learned channels paired no better on real
  faces and worse on the independent generator (docs/transfer/arms-2026-12-05.md); the
  parameters are the same either way."""
  return compile_train_step(model.clone(classical='none'), tx, mesh,
                            float(train_cfg.prior_weight), float(train_cfg.pearson_weight),
                            on_device)
