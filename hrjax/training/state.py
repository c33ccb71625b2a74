"""The train state (a plain pytree: params, opt_state, step), its optimizer, and its abstract
shapes, which restoring a checkpoint fills (training, evaluation and prediction alike)."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import optax

from hrjax.models.pairing import PairingModel, build_model
from hrjax.training import checkpoint, parallel


def make_optimizer(cfg) -> optax.GradientTransformation:
  schedule = learning_rate_schedule(cfg)
  return optax.chain(optax.clip_by_global_norm(cfg.train.grad_clip),
                     optax.adamw(schedule, weight_decay=cfg.train.weight_decay))


def learning_rate_schedule(cfg):
  warmup = min(cfg.train.warmup_steps, max(1, cfg.train.steps - 1))
  return optax.warmup_cosine_decay_schedule(
      0.0, cfg.train.learning_rate, warmup, max(cfg.train.steps, warmup + 1),
      end_value=cfg.train.learning_rate * 0.02)


def example_batch(cfg, batch: int = 2) -> dict:
  """Zeros in the shapes of a batch of the config's clips (to initialise and trace)."""
  t, s = cfg.data.clip_frames, cfg.data.size
  return dict(video=jnp.zeros((batch, t, s, s, 3), jnp.uint8),
              heart=jnp.zeros((batch, t, 2), jnp.float32), rr=jnp.ones((batch, 2), jnp.float32))


def init_state(model: PairingModel, tx, seed: int, example: dict) -> dict:
  """A plain pytree: params, opt_state, step.

  Compiled as one program: run op by op, the initializers of a few dozen parameter
  shapes compile a few hundred small programs, slower than one (same values).
  """
  def init():
    params = model.init(jax.random.key(seed), example['video'][:2], example['heart'][:2],
                        example['rr'][:2])['params']
    return dict(params=params, opt_state=tx.init(params), step=jnp.zeros((), jnp.int32))
  return jax.jit(init)()


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
