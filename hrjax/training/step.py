"""The pure, compiled train step: `(state, batch) -> (state, metrics)`."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import optax

from hrjax.models.pairing import PairingModel, contrastive_loss
from hrjax.training import parallel

TRACE_COUNT = {'train_step': 0}  # bumped at trace time: tests check the step compiles once


def train_step(state: dict, batch: dict, *, model: PairingModel, tx) -> tuple[dict, dict]:
  """(state, batch) -> (state, metrics). Deterministic: the loader owns the randomness."""
  TRACE_COUNT['train_step'] += 1

  def loss_fn(params):
    logits = model.apply({'params': params}, batch['video'], batch['heart'], batch['rr'])
    return contrastive_loss(logits), logits

  (loss, logits), grads = jax.value_and_grad(loss_fn, has_aux=True)(state['params'])
  updates, opt_state = tx.update(grads, state['opt_state'], state['params'])
  params = optax.apply_updates(state['params'], updates)
  labels = jnp.arange(logits.shape[0])
  metrics = dict(loss=loss, grad_norm=optax.tree.norm(grads),
                 accuracy=(logits.argmax(1) == labels).mean(),
                 scale=jnp.exp(params['log_scale']))
  return dict(params=params, opt_state=opt_state, step=state['step'] + 1), metrics


@functools.lru_cache(maxsize=8)
def compile_train_step(model: PairingModel, tx, mesh):
  """jit over the `data` mesh: state replicated and donated, batch sharded along `data`.
  One per (model, optimizer, mesh): a second run in the same process reuses its compile."""
  step = functools.partial(train_step, model=model, tx=tx)
  return jax.jit(step, in_shardings=(parallel.replicated(mesh), parallel.batch_sharded(mesh)),
                 out_shardings=(parallel.replicated(mesh), parallel.replicated(mesh)),
                 donate_argnums=0)
