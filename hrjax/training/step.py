"""The pure, compiled train step: `(state, batch) -> (state, metrics)`."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import optax

from hrjax.models import spectral, spectral_priors
from hrjax.models.pairing import PairingModel, contrastive_loss
from hrjax.training import parallel

TRACE_COUNT = {'train_step': 0}  # bumped at trace time: tests check the step compiles once


def train_step(state: dict, batch: dict, *, model: PairingModel, tx,
               prior_weight: float = 1.0) -> tuple[dict, dict]:
  """(state, batch) -> (state, metrics). Deterministic: the loader owns the randomness.

  A batch with a `labeled` mask (the loader adds one when `train.unlabeled` draws clips
  without a usable heart) takes the contrastive loss over its labeled clips and adds
  `prior_weight` times the spectral priors of the unlabeled ones' pulse.
  """
  TRACE_COUNT['train_step'] += 1
  labeled = batch.get('labeled')

  def loss_fn(params):
    variables = {'params': params}
    if labeled is None:
      logits = model.apply(variables, batch['video'], batch['heart'], batch['rr'])
      return contrastive_loss(logits), (logits, jnp.zeros(()))
    logits, pulse = model.apply(variables, batch['video'], batch['heart'], batch['rr'],
                                method=PairingModel.logits_and_pulse)
    prior = spectral_priors.spectral_prior_loss(pulse, 1.0 - labeled, model.fps,
                                                spectral.bpm_grid())
    return contrastive_loss(logits, labeled) + prior_weight * prior, (logits, prior)

  (loss, (logits, prior)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state['params'])
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
  if labeled is not None:
    metrics['spectral_prior'] = prior
  return dict(params=params, opt_state=opt_state, step=state['step'] + 1), metrics


@functools.lru_cache(maxsize=8)
def compile_train_step(model: PairingModel, tx, mesh, prior_weight: float = 1.0):
  """jit over the `data` mesh: state replicated and donated, batch sharded along `data`.
  One per (model, optimizer, mesh, weight): a second run in the same process reuses its
  compile."""
  step = functools.partial(train_step, model=model, tx=tx, prior_weight=prior_weight)
  return jax.jit(step, in_shardings=(parallel.replicated(mesh), parallel.batch_sharded(mesh)),
                 out_shardings=(parallel.replicated(mesh), parallel.replicated(mesh)),
                 donate_argnums=0)
