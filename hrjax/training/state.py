"""The train state (a plain pytree: params, opt_state, step), its optimizer, and its abstract
shapes, which restoring a checkpoint fills (training, evaluation and prediction alike)."""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import optax

from hrjax.models.pairing import PairingModel, build_model
from hrjax.training import checkpoint, parallel


def make_optimizer(cfg) -> optax.GradientTransformation:
  """AdamW with gradient clipping on `learning_rate_schedule`; one object per setting, so
  the train step compiled for it (`step.compile_train_step`) is compiled once per process."""
  t = cfg.train
  return _optimizer(t.grad_clip, t.weight_decay, t.learning_rate, t.warmup_steps, t.steps)


def learning_rate_schedule(cfg):
  return _schedule(cfg.train.learning_rate, cfg.train.warmup_steps, cfg.train.steps)


def _schedule(learning_rate: float, warmup_steps: int, steps: int):
  warmup = min(warmup_steps, max(1, steps - 1))
  return optax.warmup_cosine_decay_schedule(0.0, learning_rate, warmup, max(steps, warmup + 1),
                                            end_value=learning_rate * 0.02)


@functools.lru_cache(maxsize=8)
def _optimizer(grad_clip: float, weight_decay: float, learning_rate: float, warmup_steps: int,
               steps: int) -> optax.GradientTransformation:
  return optax.chain(optax.clip_by_global_norm(grad_clip),
                     optax.adamw(_schedule(learning_rate, warmup_steps, steps),
                                 weight_decay=weight_decay))


def example_batch(cfg, batch: int = 2) -> dict:
  """Zeros in the shapes of a batch of the config's clips (to initialise and trace)."""
  t, s = cfg.data.clip_frames, cfg.data.size
  return dict(video=jnp.zeros((batch, t, s, s, 3), jnp.uint8),
              heart=jnp.zeros((batch, t, 2), jnp.float32), rr=jnp.ones((batch, 2), jnp.float32))


def init_state(model: PairingModel, tx, seed: int, example: dict) -> dict:
  """A plain pytree: params, opt_state, step."""
  params = _init_params(model, jax.random.key(seed), example['video'][:2],
                        example['heart'][:2], example['rr'][:2])
  return dict(params=params, opt_state=tx.init(params), step=jnp.zeros((), jnp.int32))


@functools.partial(jax.jit, static_argnums=0)
def _init_params(model: PairingModel, key, video, heart, rr) -> dict:
  """The model's initial parameters, compiled once per model (op by op, the initializers
  of a few dozen parameter shapes compile a few hundred small programs; same values)."""
  return model.init(key, video, heart, rr)['params']


def parameter_count(params) -> int:
  return int(sum(x.size for x in jax.tree.leaves(params)))


@dataclasses.dataclass(frozen=True)
class Setup:
  """What a config builds before any array exists: the device mesh, the model, its
  optimizer, an example batch (zeros) and the train state's shapes and shardings."""

  mesh: jax.sharding.Mesh
  model: PairingModel
  tx: optax.GradientTransformation
  example: dict
  abstract_state: dict  # jax.ShapeDtypeStruct leaves, replicated over the mesh
  seed: int

  def init(self) -> dict:
    """A fresh train state, replicated over the mesh."""
    state = init_state(self.model, self.tx, self.seed, self.example)
    return jax.device_put(state, parallel.replicated(self.mesh))


def setup(cfg) -> Setup:
  """The `Setup` of a config, on every device JAX sees."""
  mesh = parallel.data_mesh()
  model, tx = build_model(cfg), make_optimizer(cfg)
  example = example_batch(cfg)
  shapes = jax.eval_shape(lambda: init_state(model, tx, cfg.seed, example))
  return Setup(mesh=mesh, model=model, tx=tx, example=example,
               abstract_state=checkpoint.abstract(shapes, parallel.replicated(mesh)),
               seed=cfg.seed)
