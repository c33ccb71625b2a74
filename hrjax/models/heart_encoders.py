"""Heart encoders for the three representations.

  waveform:   the synchronous pulse `[B, T, 1]` -> per-frame features `[B, T, D]` (1-D convs)
  hr:         the rate trajectory -> a distribution over a bpm grid, refined by 1-D convs
              along the rate axis (no phase: a rate says nothing of when beats happen)
  rr_summary: mean RR interval and its CV -> the same kind of distribution (an MLP)
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from hrjax.models.layers import TemporalConv1D


class WaveformEncoder(nn.Module):
  """The pulse itself plus a learned refinement that starts at zero.

  At initialisation every output channel is the recorded pulse, so the video
  encoder is first pulled toward recovering the pulse (what rPPG should do)
  before the heart side learns anything of its own.
  """

  features: int = 4
  hidden: int = 16

  @nn.compact
  def __call__(self, heart: jax.Array) -> jax.Array:
    x = heart[..., :1]  # the pulse channel
    y = nn.relu(TemporalConv1D(self.hidden, 5, name='conv0')(x))
    y = nn.relu(TemporalConv1D(self.hidden, 5, name='conv1')(y))
    refine = TemporalConv1D(self.features, 1, zero_init=True, use_bias=False, name='out')(y)
    return x + refine


def rate_bumps(bpm: jax.Array, grid: np.ndarray, width: jax.Array) -> jax.Array:
  """Gaussian bumps over the bpm grid at the given rates: `[..., F]`."""
  return jnp.exp(-0.5 * ((grid - bpm[..., None]) / width) ** 2)


class RateEncoder(nn.Module):
  """Rate trajectory `[B, T]` (bpm) -> log-weights over the bpm grid `[B, F]`."""

  grid: np.ndarray
  hidden: int = 8

  @nn.compact
  def __call__(self, heart: jax.Array) -> jax.Array:
    width = 2.0 + jax.nn.softplus(self.param('width', nn.initializers.constant(1.0), ()))
    spectrum = rate_bumps(heart[..., 1], self.grid, width).mean(axis=1)  # [B, F]
    return FrequencyRefiner(self.hidden, name='refine')(spectrum)


class RRSummaryEncoder(nn.Module):
  """(mean RR in s, CV of RR) -> log-weights over the bpm grid `[B, F]` (an MLP)."""

  grid: np.ndarray
  hidden: int = 32

  @nn.compact
  def __call__(self, rr: jax.Array) -> jax.Array:
    bpm = 60.0 / jnp.clip(rr[:, 0], 0.2, 2.0)
    x = jnp.stack([(bpm - 100.0) / 40.0, rr[:, 1] * 10.0], -1)
    x = nn.relu(nn.Dense(self.hidden)(x))
    x = nn.relu(nn.Dense(self.hidden)(x))
    return nn.Dense(len(self.grid))(x) + jnp.log(rate_bumps(bpm, self.grid, 6.0) + 1e-3)


class FrequencyRefiner(nn.Module):
  """1-D convs along the rate axis of a `[B, F]` spectrum: shift-equivariant in rate."""

  hidden: int = 8
  kernel: int = 5

  @nn.compact
  def __call__(self, spectrum: jax.Array) -> jax.Array:
    x = jnp.log(spectrum + 1e-3)[..., None]  # [B, F, 1]
    y = nn.relu(nn.Conv(self.hidden, (self.kernel,), name='conv0')(x))
    # No bias: the softmax over rates that follows ignores a constant (it got no gradient).
    y = nn.Conv(1, (self.kernel,), use_bias=False, name='conv1')(y)
    return (x + y)[..., 0]
