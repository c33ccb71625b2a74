"""Train state, optimizer and the pure, compiled train step."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import optax

from hrjax import parallel
from hrjax.models.pairing import PairingModel, contrastive_loss

TRACE_COUNT = {'train_step': 0}  # bumped at trace time: tests check the step compiles once


def make_optimizer(cfg) -> optax.GradientTransformation:
  schedule = learning_rate_schedule(cfg)
  return optax.chain(optax.clip_by_global_norm(cfg.train.grad_clip),
                     optax.adamw(schedule, weight_decay=cfg.train.weight_decay))


def learning_rate_schedule(cfg):
  warmup = min(cfg.train.warmup_steps, max(1, cfg.train.steps - 1))
  return optax.warmup_cosine_decay_schedule(
      0.0, cfg.train.learning_rate, warmup, max(cfg.train.steps, warmup + 1),
      end_value=cfg.train.learning_rate * 0.02)


def init_state(model: PairingModel, tx, seed: int, example: dict) -> dict:
  """A plain pytree: params, opt_state, step."""
  params = model.init(jax.random.key(seed), example['video'][:2], example['heart'][:2],
                      example['rr'][:2])['params']
  return dict(params=params, opt_state=tx.init(params), step=jnp.zeros((), jnp.int32))


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


def compile_train_step(model: PairingModel, tx, mesh):
  """jit over the `data` mesh: state replicated and donated, batch sharded along `data`."""
  step = functools.partial(train_step, model=model, tx=tx)
  return jax.jit(step, in_shardings=(parallel.replicated(mesh), parallel.batch_sharded(mesh)),
                 out_shardings=(parallel.replicated(mesh), parallel.replicated(mesh)),
                 donate_argnums=0)
