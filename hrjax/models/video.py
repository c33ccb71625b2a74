"""Video encoder: clip -> per-frame pulse features `[B, T, D]`, time kept at full rate."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from hrjax.models.layers import FactorisedBlock, avg_pool_space, temporal_conv


def moving_mean(x: jax.Array, window: int, axis: int = 1) -> jax.Array:
  """Centred moving average along `axis` (T; 1 in `[B, T, ...]`), shrinking at the ends."""
  t = x.shape[axis]
  c = jnp.cumsum(x, axis=axis)
  c = jnp.concatenate([jnp.zeros_like(lax.slice_in_dim(c, 0, 1, axis=axis)), c], axis=axis)
  idx = np.arange(t)
  lo = np.clip(idx - window // 2, 0, t)
  hi = np.clip(idx + window // 2 + 1, 0, t)
  shape = [1] * x.ndim
  shape[axis] = t
  count = (hi - lo).reshape(shape).astype(x.dtype)
  return (jnp.take(c, hi, axis=axis) - jnp.take(c, lo, axis=axis)) / count


INPUTS = ('relative', 'difference')
# [B, T, H, W, C] -> [C, H, W, B, T], the blocks' channel-first layout (channels_first.py), and back
TO_CHANNELS_FIRST, FROM_CHANNELS_FIRST = (4, 2, 3, 0, 1), (3, 4, 1, 2, 0)


def normalise_video(video: jax.Array, gain: float, clip: float = 3.0, window: int = 0,
                    dtype=jnp.float32, mode: str = 'relative',
                    channels_first: bool = False) -> tuple[jax.Array, jax.Array]:
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

  `channels_first`: the change comes as `[3, H, W, B, T]`, the blocks' channel-first
  layout, the clip turned while still bytes. Turned after, XLA fuses the turn into every
  window the first block cuts from it, once per window (docs/performance.md).
  """
  if channels_first:
    video = jnp.transpose(video, TO_CHANNELS_FIRST)
  time, batch = (4, 3) if channels_first else (1, 0)
  x = video.astype(dtype)
  clip_mean = x.mean(axis=time, keepdims=True)
  appearance = jnp.squeeze(clip_mean, time) / 255.0 - 0.5
  if channels_first:  # [3, H, W, B] -> [B, H, W, 3]
    appearance = jnp.transpose(appearance, (3, 1, 2, 0))
  if mode == 'difference':
    now, before = (lax.slice_in_dim(x, a, b, axis=time) for a, b in ((1, None), (0, -1)))
    d = (now - before) / (now + before + 2.0)  # +2: black pixels
    d = jnp.concatenate([jnp.zeros_like(lax.slice_in_dim(d, 0, 1, axis=time)), d], axis=time)
    per_clip = tuple(a for a in range(d.ndim) if a != batch)
    rms = jnp.sqrt(jnp.mean(d * d, axis=per_clip, keepdims=True)) + 1e-6
    return clip * jnp.tanh(d / rms / clip), appearance
  mean = clip_mean if window <= 0 else moving_mean(x, window, axis=time)
  rel = clip * jnp.tanh((x - mean) / (mean + 1.0) * gain / clip)  # +1: black pixels
  return rel, appearance


def pixel_mean(x: jax.Array, channels_first: bool) -> jax.Array:
  """The mean over pixels of `[B, T, H, W, C]` (`[C, H, W, B, T]`) -> `[B, T, C]`, as products.

  On the CPU XLA runs a reduction over all but the last axis several times slower
  than a matrix product with a constant: channel-last, a 0/1 matrix picks each
  channel out of a frame's pixels; channel-first, each channel's `[H*W, B*T]` plane
  is one matrix-vector product (one batched product over all three made XLA copy the
  whole array first).
  """
  if not channels_first:
    b, t, h, w, ch = x.shape
    picks = np.tile(np.eye(ch) / (h * w), (h * w, 1)).astype(x.dtype)  # [H*W*C, C]
    return x.reshape(b, t, h * w * ch) @ picks
  ch, h, w, b, t = x.shape
  mean = jnp.full((h * w,), 1.0 / (h * w), x.dtype)
  return jnp.stack([mean @ x[i].reshape(h * w, b * t) for i in range(ch)], -1).reshape(b, t, ch)


class VideoEncoder(nn.Module):
  """(2+1)D blocks with early spatial pooling, attention pooling over space."""

  channels: Sequence[int]
  out_features: int
  gain: float  # relative colour change x gain before soft clipping (`normalise_video`)
  k_time: int = 5
  norm_window: int = 0  # frames of the moving mean the input is normalised by; 0: clip mean
  input_mode: str = 'relative'  # or 'difference' (`normalise_video`)
  dtype: Any = None  # compute dtype of the (2+1)D blocks (bfloat16 on GPUs); None: float32
  channels_first: bool = False  # the blocks as matmuls on [C, H, W, B, T] (channels_first.py)
  # The first block also sees the clip's mean frame (where the skin is); False: only the
  # changes over time, as the classical methods see a face.
  appearance: bool = True

  @nn.compact
  def __call__(self, video: jax.Array) -> jax.Array:
    # At least float32 here: a 0.5% colour change is below bfloat16's resolution of a
    # 0-255 level; once divided by its mean and scaled by `gain` it is O(1) and survives.
    wide = jnp.promote_types(self.dtype or jnp.float32, jnp.float32)
    # Channel-first, every operation of a block is a matrix product (the CPU's way, see
    # channels_first.py); channel-last arrays go to lax convolutions (cuDNN on a GPU).
    first = self.channels_first
    x, mean_frame = normalise_video(video, self.gain, window=self.norm_window, dtype=wide,
                                    mode=self.input_mode, channels_first=first)
    # A linear colour projection of the mean relative change (what GREEN, CHROM and
    # POS compute by hand) as a direct path; the convolutions learn what it misses.
    colour = nn.Dense(self.out_features, use_bias=False, name='colour_skip')(
        pixel_mean(x, first))
    for i, c in enumerate(self.channels):
      x = FactorisedBlock(mid=c, out=c, k_time=self.k_time, stride=2 if i == 0 else 1,
                          dtype=self.dtype, channels_first=first,
                          name=f'block{i}')(x, mean_frame if i == 0 and self.appearance else None)
      if i < len(self.channels) - 1:
        x = avg_pool_space(x, 2, channels_first=first)
    if first:
      x = jnp.transpose(x, FROM_CHANNELS_FIRST)
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
