"""Video encoder: clip -> per-frame pulse features `[B, T, D]`, time kept at full rate."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from hrjax.models.layers import FactorisedBlock, avg_pool_space, temporal_conv


def normalise_video(video: jax.Array, gain: float = 50.0, clip: float = 3.0,
                    dtype=jnp.float32) -> tuple[jax.Array, jax.Array]:
  """`uint8 [B, T, H, W, 3]` -> (relative change `[B, T, H, W, 3]`, appearance `[B, H, W, 3]`).

  Relative change: each pixel about its temporal mean, scaled so a 1% pulse
  is O(1) and soft-clipped (motion at edges is large). Appearance: the mean
  frame, so the network can tell skin from the rest.
  """
  x = video.astype(dtype)
  mean = x.mean(axis=1, keepdims=True)
  rel = clip * jnp.tanh((x - mean) / (mean + 1.0) * gain / clip)  # +1: black pixels
  return rel, mean[:, 0] / 255.0 - 0.5


class VideoEncoder(nn.Module):
  """(2+1)D blocks with early spatial pooling, attention pooling over space."""

  channels: Sequence[int] = (8, 16, 32)
  out_features: int = 4
  k_time: int = 5
  gain: float = 50.0
  dtype: Any = jnp.float32  # compute dtype of the input normalisation

  @nn.compact
  def __call__(self, video: jax.Array) -> jax.Array:
    x, appearance = normalise_video(video, self.gain, dtype=self.dtype)
    # A linear colour projection of the mean relative change (what GREEN, CHROM and
    # POS compute by hand) as a direct path; the convolutions learn what it misses.
    colour = nn.Dense(self.out_features, use_bias=False, name='colour_skip')(
        x.mean(axis=(2, 3)))
    for i, c in enumerate(self.channels):
      x = FactorisedBlock(mid=c, out=c, k_time=self.k_time, stride=2 if i == 0 else 1,
                          name=f'block{i}')(x, appearance if i == 0 else None)
      if i < len(self.channels) - 1:
        x = avg_pool_space(x, 2)
    # Where to look is a property of the face, not of a frame: weights from the time mean.
    # No bias: a softmax over space ignores a constant.
    logits = nn.Dense(1, use_bias=False, name='attention')(x.mean(axis=1))  # [B, H, W, 1]
    b, h, w, _ = logits.shape
    weights = jax.nn.softmax(logits.reshape(b, h * w), axis=-1).reshape(b, 1, h, w, 1)
    pooled = (x * weights).sum(axis=(2, 3))  # [B, T, C]
    w_out = self.param('out', nn.initializers.lecun_normal(),
                       (3, pooled.shape[-1], self.out_features))
    return temporal_conv(pooled, w_out) + colour
