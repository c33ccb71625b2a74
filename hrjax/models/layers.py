"""Factorised (2+1)D convolution: a spatial `(1, k, k)` conv, then a temporal `(k, 1, 1)` one.

Written as the operations they are rather than as generic 3-D convolutions: the
spatial conv is a 2-D conv over all `B*T` frames, the temporal conv a 2-D conv
with a `(k, 1)` kernel over each clip's `T x (H*W)` plane, a `1x1x1` projection
one matrix product. `tests/test_layers.py` checks them against `lax.conv` in 3-D.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax


def spatial_conv(x: jax.Array, w: jax.Array, stride: int = 1) -> jax.Array:
  """`[B, T, H, W, Cin]` * `[k, k, Cin, Cout]` -> `[B, T, H', W', Cout]`, SAME padding."""
  b, t = x.shape[:2]
  y = lax.conv_general_dilated(x.reshape(b * t, *x.shape[2:]), w, (stride, stride), 'SAME',
                               dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
  return y.reshape(b, t, *y.shape[1:])


def _patch_padding(h: int, w: int, k: int, stride: int) -> list[tuple[int, int]]:
  """SAME zero padding of an `h x w` frame for `frame_patches`, extended to whole `s x s` cells."""
  s, cells = stride, -(-k // stride)  # cells a window spans in each direction
  out = []
  for n in (h, w):
    no = -(-n // s)
    before = max((no - 1) * s + k - n, 0) // 2
    out.append((before, s * (no + cells - 1) - n - before))
  return out


def frame_patches(x: jax.Array, k: int, stride: int = 1) -> jax.Array:
  """`[..., H, W, C]` -> `[..., H', W', k*k*C]`: each output pixel's SAME-padded `k x k` window.

  Ordered (row, column, channel), so `frame_patches(x, k, s) @ w.reshape(-1, Cout)`
  equals `spatial_conv(x, w, s)` for `w [k, k, C, Cout]`; zero padding, any dtype.
  Built from the frames seen as `s x s` cells (a free reshape): a window row
  is then a few runs of whole cells, not k single pixels, which XLA copies
  faster on the CPU (6 slices instead of 9 for k = 3, stride 2).
  """
  s, cells = stride, -(-k // stride)
  pad = _patch_padding(x.shape[-3], x.shape[-2], k, s)
  x = jnp.pad(x, [(0, 0)] * (x.ndim - 3) + pad + [(0, 0)])
  *lead, hp, wp, c = x.shape
  ho, wo = hp // s - cells + 1, wp // s - cells + 1
  x = x.reshape(*lead, hp // s, s, wp // s, s * c)
  parts = []
  for i in range(k):
    di, a = divmod(i, s)
    for dj in range(cells):
      width = min(s, k - dj * s) * c  # the window's columns in this cell, all channels
      parts.append(x[..., di:di + ho, a, dj:dj + wo, :width])
  return jnp.concatenate(parts, axis=-1)


def temporal_conv(x: jax.Array, w: jax.Array) -> jax.Array:
  """`[B, T, ..., Cin]` * `[k, Cin, Cout]` -> `[B, T, ..., Cout]`, zero-padded SAME in time.

  Computed as a 2-D convolution with a `(k, 1)` kernel over each clip seen as a
  `T x (H*W)` image: no transpose, and XLA's CPU convolution and its gradients
  beat k shifted matrix products (whose gradients pad and add k full copies)
  by 1.7-2.3x here (`python scripts/benchmark.py`, see README).
  """
  b, t, cin = x.shape[0], x.shape[1], x.shape[-1]
  y = lax.conv_general_dilated(x.reshape(b, t, -1, cin), w[:, None], (1, 1), 'SAME',
                               dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
  return y.reshape(*x.shape[:-1], w.shape[-1])


class FactorisedBlock(nn.Module):
  """Spatial conv -> ReLU -> temporal conv -> ReLU -> 1x1x1 projection -> ReLU."""

  mid: int
  out: int
  k_space: int = 3
  k_time: int = 5
  stride: int = 1
  dtype: Any = None  # compute dtype (e.g. bfloat16); None: as the inputs. Parameters stay float32
  patched: bool = False  # spatial conv as frame_patches(x) x weights: one matrix product

  @nn.compact
  def __call__(self, x: jax.Array, context: jax.Array | None = None) -> jax.Array:
    """`x [B, T, H, W, C]`; `context [B, H, W, Cc]`, optional, is constant over time.

    With a context the spatial conv acts on the channels of x and context
    concatenated (the context repeated over T), but the context's share is
    computed once per clip instead of once per frame.

    `patched`: on this CPU XLA computes the weight gradient of a strided conv
    over few channels slowly (a window-dilated conv); as a matrix product of
    the patches, saved from the forward pass, it is one large `dot`.
    """
    cin = x.shape[-1]
    init = nn.initializers.he_normal()
    ws = self.param('spatial', init, (self.k_space, self.k_space, cin, self.mid))
    wt = self.param('temporal', init, (self.k_time, self.mid, self.mid))
    wp = self.param('project', init, (self.mid, self.out))
    bs = self.param('spatial_bias', nn.initializers.zeros, (self.mid,))
    bt = self.param('temporal_bias', nn.initializers.zeros, (self.mid,))
    bp = self.param('project_bias', nn.initializers.zeros, (self.out,))
    if self.dtype is not None:  # compute in dtype from the float32 master weights
      x, ws, wt, wp, bs, bt, bp = (a.astype(self.dtype) for a in (x, ws, wt, wp, bs, bt, bp))
    if self.patched:
      y = frame_patches(x, self.k_space, self.stride) @ ws.reshape(-1, self.mid) + bs
    else:
      y = spatial_conv(x, ws, self.stride) + bs
    if context is not None:
      wc = self.param('spatial_context', init,
                      (self.k_space, self.k_space, context.shape[-1], self.mid))
      if self.dtype is not None:
        context, wc = context.astype(self.dtype), wc.astype(self.dtype)
      y = y + spatial_conv(context[:, None], wc, self.stride)
    x = nn.relu(y)
    x = nn.relu(temporal_conv(x, wt) + bt)
    return nn.relu(x @ wp + bp)


def avg_pool_space(x: jax.Array, factor: int) -> jax.Array:
  """`[B, T, H, W, C]` -> `[B, T, H//f, W//f, C]` by averaging (trailing rows dropped).

  A sum of f*f strided slices: on the CPU XLA fuses it into one loop, faster
  than a reduction over a reshaped window axis.
  """
  h2, w2 = x.shape[2] // factor, x.shape[3] // factor
  total = sum(x[:, :, i:h2 * factor:factor, j:w2 * factor:factor]
              for i in range(factor) for j in range(factor))
  return total / factor ** 2


class TemporalConv1D(nn.Module):
  """1-D conv over time for `[B, T, C]` signals (the heart side)."""

  features: int
  kernel: int = 5
  zero_init: bool = False  # start as a no-op (the last layer of a residual branch)
  use_bias: bool = True  # False where a band-pass follows: a constant would get no gradient

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    init = nn.initializers.zeros if self.zero_init else nn.initializers.he_normal()
    w = self.param('kernel', init, (self.kernel, x.shape[-1], self.features))
    y = temporal_conv(x, w)
    if self.use_bias:
      y = y + self.param('bias', nn.initializers.zeros, (self.features,))
    return y
