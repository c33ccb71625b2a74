"""Video encoder: clip -> per-frame pulse features `[B, T, D]`, time kept at full rate."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from hrjax.models.layers import FactorisedBlock, avg_pool_space, temporal_conv


def moving_mean(x: jax.Array, window: int) -> jax.Array:
  """Centred moving average along T (axis 1) of `[B, T, ...]`, shrinking at the ends."""
  t = x.shape[1]
  c = jnp.cumsum(x, axis=1)
  c = jnp.concatenate([jnp.zeros_like(c[:, :1]), c], axis=1)
  idx = np.arange(t)
  lo = np.clip(idx - window // 2, 0, t)
  hi = np.clip(idx + window // 2 + 1, 0, t)
  shape = (1, t) + (1,) * (x.ndim - 2)
  return (c[:, hi] - c[:, lo]) / (hi - lo).reshape(shape).astype(x.dtype)


INPUTS = ('relative', 'difference')


def normalise_video(video: jax.Array, gain: float, clip: float = 3.0, window: int = 0,
                    dtype=jnp.float32, mode: str = 'relative') -> tuple[jax.Array, jax.Array]:
  """`uint8 [B, T, H, W, 3]` -> (relative change `[B, T, H, W, 3]`, appearance `[B, H, W, 3]`).

  Relative change (`mode` 'relative'): each pixel about its mean over the clip
  (`window` 0) or over a centred moving window of that many frames (a head
  movement or a light change then passes in about a window instead of shifting
  the rest of the clip), scaled so a 1% pulse is O(1) and soft-clipped (motion
  at edges is large). 'difference': DeepPhys's normalised frame differences,
  `(x[t] - x[t-1]) / (x[t] + x[t-1])` (zero at the first frame), divided by their
  root mean square over the clip (instance normalisation: a clip's noise level and
  the camera's gain drop out) and soft-clipped: a slow drift becomes a near-constant
  offset, which the band-pass of the output removes, instead of a swing to be clipped. Appearance:
  the mean frame, so the network can tell skin from the rest.
  """
  x = video.astype(dtype)
  clip_mean = x.mean(axis=1, keepdims=True)
  appearance = clip_mean[:, 0] / 255.0 - 0.5
  if mode == 'difference':
    d = (x[:, 1:] - x[:, :-1]) / (x[:, 1:] + x[:, :-1] + 2.0)  # +2: black pixels
    d = jnp.concatenate([jnp.zeros_like(d[:, :1]), d], axis=1)
    rms = jnp.sqrt(jnp.mean(d * d, axis=(1, 2, 3, 4), keepdims=True)) + 1e-6
    return clip * jnp.tanh(d / rms / clip), appearance
  mean = clip_mean if window <= 0 else moving_mean(x, window)
  rel = clip * jnp.tanh((x - mean) / (mean + 1.0) * gain / clip)  # +1: black pixels
  return rel, appearance


class VideoEncoder(nn.Module):
  """(2+1)D blocks with early spatial pooling, attention pooling over space."""

  channels: Sequence[int]
  out_features: int
  gain: float  # relative colour change x gain before soft clipping (`normalise_video`)
  k_time: int = 5
  norm_window: int = 0  # frames of the moving mean the input is normalised by; 0: clip mean
  input_mode: str = 'relative'  # or 'difference' (`normalise_video`)
  dtype: Any = None  # compute dtype of the (2+1)D blocks (bfloat16 on GPUs); None: float32
  channels_first: bool = False  # the blocks as matmuls on [C, B, T, H, W] (channels_first.py)

  @nn.compact
  def __call__(self, video: jax.Array) -> jax.Array:
    # At least float32 here: a 0.5% colour change is below bfloat16's resolution of a
    # 0-255 level; once divided by its mean and scaled by `gain` it is O(1) and survives.
    wide = jnp.promote_types(self.dtype or jnp.float32, jnp.float32)
    x, appearance = normalise_video(video, self.gain, window=self.norm_window, dtype=wide,
                                    mode=self.input_mode)
    # A linear colour projection of the mean relative change (what GREEN, CHROM and
    # POS compute by hand) as a direct path; the convolutions learn what it misses.
    # The mean over pixels as a product with a 0/1 matrix: on the CPU XLA runs a
    # reduction over all but the last axis several times slower than this matmul.
    b, t, h, w, ch = x.shape
    pixel_mean = np.tile(np.eye(ch) / (h * w), (h * w, 1)).astype(x.dtype)  # [H*W*C, C]
    colour = nn.Dense(self.out_features, use_bias=False, name='colour_skip')(
        x.reshape(b, t, h * w * ch) @ pixel_mean)
    # Channel-first, every operation of a block is a matrix product (the CPU's way, see
    # channels_first.py); channel-last arrays go to lax convolutions (cuDNN on a GPU).
    first = self.channels_first
    if first:
      x = jnp.moveaxis(x, -1, 0)
    for i, c in enumerate(self.channels):
      x = FactorisedBlock(mid=c, out=c, k_time=self.k_time, stride=2 if i == 0 else 1,
                          dtype=self.dtype, channels_first=first,
                          name=f'block{i}')(x, appearance if i == 0 else None)
      if i < len(self.channels) - 1:
        x = avg_pool_space(x, 2, channels_first=first)
    if first:
      x = jnp.moveaxis(x, 0, -1)
    # Where to look is a property of the face, not of a frame: weights from the time mean.
    # No bias: a softmax over space ignores a constant.
    logits = nn.Dense(1, use_bias=False, name='attention')(x.mean(axis=1))  # [B, H, W, 1]
    b, h, w, _ = logits.shape
    weights = jax.nn.softmax(logits.reshape(b, h * w), axis=-1).reshape(b, 1, h, w, 1)
    x = x.astype(wide)  # pooling, band-pass and correlation at least in float32
    pooled = (x * weights).sum(axis=(2, 3))  # [B, T, C]
    w_out = self.param('out', nn.initializers.lecun_normal(),
                       (3, pooled.shape[-1], self.out_features))
    return temporal_conv(pooled, w_out) + colour
