"""Integrated gradients: completeness on the model, and localisation on a known pulse region."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hrjax.data import regions
from hrjax.evaluation import saliency
from hrjax.training import restore


def _pulse_only_in_a_patch(rng, b=3, t=128, s=16):
  """Videos whose colour pulses only in rows 4-8, columns 2-6 (the 'cheek'), noise elsewhere."""
  time = np.arange(t) / 30.0
  heart = np.stack([np.sin(2 * np.pi * f * time + p) for f, p in
                    zip(rng.uniform(1.0, 2.0, b), rng.uniform(0, 6, b))])  # [B, T]
  video = 140 + rng.normal(0, 0.3, (b, t, s, s, 3))  # sensor noise after area averaging
  video[:, :, 4:9, 2:7, :] *= (1 - 0.01 * heart)[:, :, None, None, None]  # darker with blood
  hearts = np.stack([heart, np.full_like(heart, 80.0)], -1)
  cheek = np.zeros((s, s, len(regions.REGION_NAMES)))
  cheek[..., regions.NON_SKIN] = 1
  cheek[4:9, 2:7] = 0
  cheek[4:9, 2:7, regions.LEFT_CHEEK] = 1
  return video.astype(np.float32), hearts.astype(np.float32), cheek


def _green_score(video, heart, rr):
  """A transparent differentiable rPPG score: correlation of -mean green change with the pulse."""
  del rr
  g = -(video[..., 1] / video[..., 1].mean(1, keepdims=True)).mean((2, 3))
  z = lambda x: (x - x.mean(-1, keepdims=True)) / (x.std(-1, keepdims=True) + 1e-6)
  return (z(g) * z(heart[..., 0])).mean(-1)


def test_attribution_lands_on_the_region_that_carries_the_pulse():
  video, heart, cheek = _pulse_only_in_a_patch(np.random.default_rng(0))
  attr = saliency.integrated_gradients(_green_score, video, heart, np.ones((3, 2)), steps=16)
  net = saliency.net_attribution(attr)
  mass = saliency.attribution_mass(net)
  assert mass.shape == (3, 16, 16) and np.allclose(mass.sum((1, 2)), 1.0)
  shares = saliency.region_shares(net, [cheek] * 3, subjects=['a', 'b', 'b'])
  assert shares['cheeks']['area'] == pytest.approx(25 / 256)
  lo, hi = shares['cheeks']['score_share_ci']  # over subjects resampled
  assert lo <= shares['cheeks']['score_share'] <= hi and 0 < hi - lo < 0.3
  assert shares['cheeks']['score_share'] > 0.7, shares
  assert shares['cheeks']['mass_share'] > 3 * shares['cheeks']['area'], shares
  # Completeness: attributions add up to score(clip) - mean score(shuffled baselines).
  _assert_complete(_green_score, video, heart, np.ones((3, 2)), attr, rtol=0.05)


def _assert_complete(score, video, heart, rr, attr, rtol, atol=0.02):
  v = jnp.asarray(video, jnp.float32)
  base = np.mean([score(saliency.shuffled_in_time(v, seed), heart, rr) for seed in (0, 1)], 0)
  diff = score(v, heart, rr) - base
  np.testing.assert_allclose(np.asarray(attr).sum((1, 2, 3, 4)), diff, rtol=rtol, atol=atol)


def test_integrated_gradients_on_the_trained_model_adds_up(tiny_run):
  cfg, workdir, _ = tiny_run
  _, model, params, _ = restore.load(workdir)
  from hrjax.data import clip_store
  split = clip_store.open_split(cfg.data.store, 'test')
  video, heart, rr = (np.asarray(x[:2]) for x in (split.video, split.heart, split.rr))
  score = saliency.model_score_fn(model, params)
  attr = jax.jit(lambda v: saliency.integrated_gradients(score, v, heart, rr, steps=32))(video)
  assert attr.shape == video.shape and np.isfinite(np.asarray(attr)).all()
  # The max over lags bends the path: a looser sum, still far from any factor error.
  _assert_complete(score, video, heart, rr, attr, rtol=0.1, atol=0.15)
