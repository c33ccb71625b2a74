"""The negative-Pearson loss against the recorded pulse, and the step that adds it."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from test_model import inputs, model_and_params

from hrjax.models import spectral
from hrjax.training import step

FPS, T, LAG = 30.0, 128, 3


def pulses(shift=0, sign=1.0, channels=2):
  """A recorded pulse `[B, T, 2]` (pulse, rate) of 3 clips at different rates, and video
  features `[B, T, D]` that are that pulse delayed by `shift` frames, times `sign`."""
  t = np.arange(T + 8) / FPS
  waves = np.stack([np.sin(2 * np.pi * b / 60 * t) + 0.3 * np.sin(4 * np.pi * b / 60 * t)
                    for b in (55.0, 80.0, 130.0)])
  heart = np.stack([waves[:, 4:4 + T], np.full((3, T), 80.0)], -1)
  feats = sign * waves[:, 4 - shift:4 - shift + T, None] * np.ones(channels)
  feats = spectral.standardise(spectral.fft_bandpass(jnp.asarray(feats, jnp.float32), FPS))
  return jnp.asarray(heart, jnp.float32), feats


def test_the_loss_is_zero_for_the_pulse_within_the_lag_search_and_high_for_its_negative():
  heart, same = pulses()
  assert float(step.pearson_loss(same, heart, None, FPS, LAG)) < 1e-3
  _, late = pulses(shift=2)
  assert float(step.pearson_loss(late, heart, None, FPS, LAG)) < 0.02
  assert float(step.pearson_loss(late, heart, None, FPS, 0)) > 0.2  # no lag searched
  _, flipped = pulses(sign=-1.0)
  assert float(step.pearson_loss(flipped, heart, None, FPS, 0)) > 1.99
  # A shift of 3 frames turns the fastest pulse (130 bpm) a fifth of a beat, no further.
  assert float(step.pearson_loss(flipped, heart, None, FPS, LAG)) > 1.2


def test_only_labeled_clips_count():
  heart, feats = pulses()
  _, flipped = pulses(sign=-1.0)
  mixed = feats.at[1].set(flipped[1])
  assert float(step.pearson_loss(mixed, heart, jnp.array([1.0, 0.0, 1.0]), FPS, LAG)) < 1e-3
  alone = step.pearson_loss(mixed[1:2], heart[1:2], None, FPS, LAG)
  np.testing.assert_allclose(step.pearson_loss(mixed, heart, jnp.array([0.0, 1.0, 0.0]), FPS,
                                               LAG), alone, rtol=1e-5)


def test_the_step_adds_the_weighted_term_and_its_gradient():
  model, params = model_and_params('waveform')
  tx = optax.sgd(1e-2)
  state = dict(params=params, opt_state=tx.init(params), step=jnp.zeros((), jnp.int32))
  v, h, rr = inputs(4, seed=5)
  batch = dict(video=v, heart=h, rr=rr)
  plain = jax.jit(lambda s, b: step.train_step(s, b, model=model, tx=tx))(state, batch)
  both = jax.jit(lambda s, b: step.train_step(s, b, model=model, tx=tx,
                                              pearson_weight=2.0))(state, batch)
  assert 'pearson' not in plain[1]
  assert 0.0 < float(both[1]['pearson']) < 2.0
  np.testing.assert_allclose(float(both[1]['loss']),
                             float(plain[1]['loss']) + 2.0 * float(both[1]['pearson']),
                             rtol=1e-5)
  moved = [float(jnp.abs(a - b).max()) for a, b in zip(
      jax.tree.leaves(plain[0]['params']), jax.tree.leaves(both[0]['params']))]
  assert max(moved) > 0.0


def test_a_rate_heart_with_a_pearson_weight_is_refused():
  from configs import default
  from hrjax import config_check
  from hrjax.errors import InputError
  cfg = default.get_config('runlocal')
  cfg.train.pearson_weight = 0.5
  config_check.check(cfg)
  cfg.model.representation = 'hr'
  with pytest.raises(InputError, match='pearson_weight'):
    config_check.check(cfg)
