"""Self-supervised losses for videos without a heart signal: what any pulse's spectrum obeys.

After SiNC (Speth et al., CVPR 2023): a face video's pulse is one narrow peak
inside the heart-rate band (sparsity), and over many people the peaks spread
over the whole band instead of collapsing onto one rate (variance). Neither
needs a label, so a user's unlabeled recordings can shape the video encoder
beside the contrastive loss of the labeled ones. The band limit (SiNC's third
prior) holds by construction here: the encoder's output is band-passed.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from hrjax.models import spectral


def normalised_power(pulse: jax.Array, fps: float, grid: np.ndarray) -> jax.Array:
  """`[B, T, D]` pulse features -> their power on the rate grid, each summing to 1: `[B, F, D]`."""
  power = spectral.power_spectrum(pulse, fps, grid)
  return power / (power.sum(axis=1, keepdims=True) + 1e-8)


def sparsity_loss(power: jax.Array, half_width: int) -> jax.Array:
  """Share of each spectrum's power farther than `half_width` grid steps from its peak,
  averaged: `[B, F, D]` normalised power -> `[B]`. 0 for a pure tone."""
  bins = jnp.arange(power.shape[1])[None, :, None]
  peak = jnp.argmax(jax.lax.stop_gradient(power), axis=1)[:, None, :]
  near = jnp.abs(bins - peak) <= half_width
  return (1.0 - jnp.where(near, power, 0.0).sum(axis=1)).mean(-1)


def variance_loss(power: jax.Array, weights: jax.Array) -> jax.Array:
  """Squared earth mover's distance between the weighted mean spectrum of the batch and a
  uniform one over the band, per feature, averaged: 0 when the peaks cover the band evenly.
  `power` `[B, F, D]`, `weights` `[B]` (0 for the clips it must not see)."""
  w = weights / jnp.maximum(weights.sum(), 1e-8)
  mean = jnp.einsum('b,bfd->fd', w, power)
  f = power.shape[1]
  uniform = jnp.arange(1, f + 1, dtype=power.dtype) / f
  return ((jnp.cumsum(mean, axis=0) - uniform[:, None]) ** 2).mean()


def peak_half_width(frames: int, fps: float, grid: np.ndarray) -> int:
  """Grid steps either side of a peak that a pure tone's power fills on a clip this long:
  the Hann window's half-power half-width, 0.72 / duration Hz (about 10 bpm for 128 frames
  at 30 fps; a 10-second clip would allow SiNC's 6 bpm)."""
  bpm = 0.72 / (frames / fps) * 60.0
  return max(1, int(round(bpm / float(grid[1] - grid[0]))))


def spectral_prior_loss(pulse: jax.Array, unlabeled: jax.Array, fps: float,
                        grid: np.ndarray) -> jax.Array:
  """Sparsity (mean over the `unlabeled` clips, a `[B]` 0/1 mask) plus variance (over the
  same clips) of the video encoder's pulse features `[B, T, D]`. 0 when no clip is
  unlabeled."""
  power = normalised_power(pulse, fps, grid)
  half_width = peak_half_width(pulse.shape[1], fps, grid)
  n = unlabeled.sum()
  sparse = (sparsity_loss(power, half_width) * unlabeled).sum() / jnp.maximum(n, 1.0)
  return jnp.where(n > 0, sparse + variance_loss(power, unlabeled), 0.0)
