"""Factorised (2+1)D convolution: a spatial `(1, k, k)` conv, then a temporal `(k, 1, 1)` one.

Written as the operations they are rather than as generic 3-D convolutions: the
spatial conv is a 2-D conv over all `B*T` frames, the temporal conv a 2-D conv
with a `(k, 1)` kernel over each clip's `T x (H*W)` plane, a `1x1x1` projection
one matrix product. `tests/test_layers.py` checks them against `lax.conv` in 3-D.
With `channels_first` the block runs the same maths on channel-first arrays, every
operation a matrix product (`channels_first.py`, the CPU's way); channel-last it
runs these convolutions (cuDNN on a GPU).
"""

from __future__ import annotations

import operator
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from hrjax.models import channels_first as cf


def spatial_conv(x: jax.Array, w: jax.Array, stride: int = 1) -> jax.Array:
  """`[B, T, H, W, Cin]` * `[k, k, Cin, Cout]` -> `[B, T, H', W', Cout]`, SAME padding."""
  b, t = x.shape[:2]
  y = lax.conv_general_dilated(x.reshape(b * t, *x.shape[2:]), w, (stride, stride), 'SAME',
                               dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
  return y.reshape(b, t, *y.shape[1:])


def temporal_conv(x: jax.Array, w: jax.Array) -> jax.Array:
  """`[B, T, ..., Cin]` * `[k, Cin, Cout]` -> `[B, T, ..., Cout]`, zero-padded SAME in time.

  Computed as a 2-D convolution with a `(k, 1)` kernel over each clip seen as a
  `T x (H*W)` image: no transpose, and in this channel-last layout XLA's CPU
  convolution and its gradients beat k separate shifted matrix products, whose
  gradients pad and add k full copies (docs/performance.md). The heart encoder and
  the video encoder's output layer use it.
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
  channels_first: bool = False  # x and output [C, H, W, B, T], every op a matmul (the CPU's way)

  @nn.compact
  def __call__(self, x: jax.Array, context: jax.Array | None = None) -> jax.Array:
    """`x [B, T, H, W, C]` (`[C, H, W, B, T]` with `channels_first`); `context [B, H, W, Cc]`.

    The context, optional, is constant over time: the spatial conv acts on the
    channels of x and context concatenated (the context repeated over T), but
    the context's share is computed once per clip instead of once per frame.

    `channels_first`: the same maths as matrix products over channel-first
    arrays (`channels_first.py`); same parameters, so checkpoints interchange.
    """
    cin = x.shape[0 if self.channels_first else -1]
    init = nn.initializers.he_normal()
    ws = self.param('spatial', init, (self.k_space, self.k_space, cin, self.mid))
    wt = self.param('temporal', init, (self.k_time, self.mid, self.mid))
    wp = self.param('project', init, (self.mid, self.out))
    bs = self.param('spatial_bias', nn.initializers.zeros, (self.mid,))
    bt = self.param('temporal_bias', nn.initializers.zeros, (self.mid,))
    bp = self.param('project_bias', nn.initializers.zeros, (self.out,))
    wc = None
    if context is not None:
      wc = self.param('spatial_context', init,
                      (self.k_space, self.k_space, context.shape[-1], self.mid))
    if self.dtype is not None:  # compute in dtype from the float32 master weights
      x, ws, wt, wp, bs, bt, bp = (a.astype(self.dtype) for a in (x, ws, wt, wp, bs, bt, bp))
      if context is not None:
        context, wc = context.astype(self.dtype), wc.astype(self.dtype)
    if self.channels_first:  # matrix products on [C, H, W, B, T] (channels_first.py)
      spatial, temporal, project, add = (cf.spatial_conv, cf.temporal_conv, cf.pointwise,
                                         cf.add_bias)
      if context is not None:  # [Cc, H, W, B, 1]
        context = jnp.transpose(context, (3, 1, 2, 0))[..., None]
    else:
      spatial, temporal, project, add = spatial_conv, temporal_conv, operator.matmul, operator.add
      if context is not None:  # [B, 1, H, W, Cc]
        context = context[:, None]
    y = add(spatial(x, ws, self.stride), bs)
    if context is not None:  # its one frame broadcast over T
      y = y + spatial(context, wc, self.stride)
    x = nn.relu(y)
    x = nn.relu(add(temporal(x, wt), bt))
    return nn.relu(add(project(x, wp), bp))


def avg_pool_space(x: jax.Array, factor: int, channels_first: bool = False) -> jax.Array:
  """`[B, T, H, W, C]` -> `[B, T, H//f, W//f, C]` by averaging (trailing rows dropped).

  With `channels_first`, `[C, H, W, B, T]` -> `[C, H//f, W//f, B, T]`. A sum
  of f*f strided slices: on the CPU XLA fuses it into one loop, faster than a
  reduction over a reshaped window axis.
  """
  axis = 1 if channels_first else x.ndim - 3  # of H; W follows
  h2, w2 = x.shape[axis] // factor, x.shape[axis + 1] // factor
  lead = (slice(None),) * axis
  total = sum(x[lead + (slice(i, h2 * factor, factor), slice(j, w2 * factor, factor))]
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
