"""Video encoder: clip -> per-frame pulse features `[B, T, D]`, time kept at full rate."""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from hrjax.models.layers import FactorisedBlock, avg_pool_space, temporal_conv


def normalise_video(video: jax.Array, gain: float = 50.0, clip: float = 3.0) -> jax.Array:
  """`uint8 [B, T, H, W, 3]` -> `float [B, T, H, W, 6]`.

  Channels 0-2: each pixel's relative change about its temporal mean, scaled
  so a 1% pulse is O(1) and soft-clipped (motion at edges is large). Channels
  3-5: the mean frame itself, so the network can tell skin from the rest.
  """
  x = video.astype(jnp.float32)
  mean = x.mean(axis=1, keepdims=True) + 1.0
  rel = clip * jnp.tanh((x / mean - 1.0) * gain / clip)
  appearance = jnp.broadcast_to(mean / 255.0 - 0.5, x.shape)
  return jnp.concatenate([rel, appearance], axis=-1)


class VideoEncoder(nn.Module):
  """(2+1)D blocks with early spatial pooling, attention pooling over space."""

  channels: Sequence[int] = (8, 16, 32)
  out_features: int = 4
  k_time: int = 5
  gain: float = 50.0

  @nn.compact
  def __call__(self, video: jax.Array) -> jax.Array:
    x = normalise_video(video, self.gain)
    for i, c in enumerate(self.channels):
      x = FactorisedBlock(mid=c, out=c, k_time=self.k_time, stride=2 if i == 0 else 1,
                          name=f'block{i}')(x)
      if i < len(self.channels) - 1:
        x = avg_pool_space(x, 2)
    # Where to look is a property of the face, not of a frame: weights from the time mean.
    logits = nn.Dense(1, name='attention')(x.mean(axis=1))  # [B, H, W, 1]
    b, h, w, _ = logits.shape
    weights = jax.nn.softmax(logits.reshape(b, h * w), axis=-1).reshape(b, 1, h, w, 1)
    pooled = (x * weights).sum(axis=(2, 3))  # [B, T, C]
    w_out = self.param('out', nn.initializers.lecun_normal(),
                       (3, pooled.shape[-1], self.out_features))
    return temporal_conv(pooled, w_out)
