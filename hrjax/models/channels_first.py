"""The (2+1)D block's operations on channel-first arrays `[C, H, W, B, T]`, as matrix products.

On the CPU, XLA runs the small convolutions of this network (8-32 channels),
and their weight gradients above all, far below its matrix-product speed, and
it transposes channel-last activations back and forth around them. With the
channels first, every operation of a block is one product of a `[Cout, K]`
weight matrix with a `[K, N]` matrix whose rows are shifted views of the input
(the `k x k` patch in space, the window of `k` frames in time), and so are
its gradients: `dW = dY @ rows^T` contracts the long axis of two row-major
matrices and `d rows = W @ dY` is a plain product, with no transpose in
between (the rows' gradient then adds back into the input as shifted slices).

Space before the clips, time last: a window's shifted copy is then made of long
runs of contiguous floats (`B*T` at least for a shift in space, `T` for one in
time). With `[C, B, T, H, W]` every copy moved runs of 4 to 18 floats, and building
and folding back the windows took most of the step (docs/performance.md).

Same parameters and the same maths as `layers.spatial_conv`,
`layers.temporal_conv` and a `1x1x1` projection over channel-last arrays
(`tests/test_layers.py` compares them in float64).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _weights_times(w: jax.Array, rows: jax.Array) -> jax.Array:
  """`[K, Cout]` weights x `[K, ...]` rows -> `[Cout, ...]`."""
  k = rows.shape[0]
  return (w.reshape(k, -1).T @ rows.reshape(k, -1)).reshape(-1, *rows.shape[1:])


def _same(n: int, k: int, stride: int) -> tuple[int, int, int]:
  """(output length, zero padding before, after) of a SAME window over `n`, as in `lax.conv`."""
  out = -(-n // stride)
  total = max((out - 1) * stride + k - n, 0)
  return out, total // 2, total - total // 2


def space_patches(x: jax.Array, k: int, stride: int = 1) -> jax.Array:
  """`[C, H, W, ...]` -> `[k*k*C, H', W', ...]`: each output pixel's SAME-padded `k x k` window.

  Rows ordered (row, column, channel) like a `[k, k, C, Cout]` kernel reshaped
  to `[k*k*C, Cout]`; zero padding, any dtype.
  """
  (ho, top, bottom), (wo, left, right) = (_same(n, k, stride) for n in x.shape[1:3])
  x = jnp.pad(x, [(0, 0), (top, bottom), (left, right)] + [(0, 0)] * (x.ndim - 3))
  span_h, span_w = (ho - 1) * stride + 1, (wo - 1) * stride + 1
  # Columns first, then rows of those: each concatenate then takes plain slices of one
  # array, which XLA fuses into a single pass (nine padded windows took two).
  cols = jnp.concatenate([x[:, :, j:j + span_w:stride] for j in range(k)], axis=0)
  return jnp.concatenate([cols[:, i:i + span_h:stride] for i in range(k)], axis=0)


def spatial_conv(x: jax.Array, w: jax.Array, stride: int = 1) -> jax.Array:
  """`[Cin, H, W, ...]` * `[k, k, Cin, Cout]` -> `[Cout, H', W', ...]`, SAME padding."""
  return _weights_times(w, space_patches(x, w.shape[0], stride))


def time_windows(x: jax.Array, k: int) -> jax.Array:
  """`[C, ..., T]` -> `[k*C, ..., T]`: the SAME zero-padded window of `k` frames around each.

  Rows ordered (offset, channel) like a `[k, C, Cout]` kernel reshaped to `[k*C, Cout]`.
  """
  t = x.shape[-1]
  before = (k - 1) // 2
  x = jnp.pad(x, [(0, 0)] * (x.ndim - 1) + [(before, k - 1 - before)])
  return jnp.concatenate([x[..., i:i + t] for i in range(k)], axis=0)


def temporal_conv(x: jax.Array, w: jax.Array) -> jax.Array:
  """`[Cin, ..., T]` * `[k, Cin, Cout]` -> `[Cout, ..., T]`, zero-padded SAME in time."""
  return _weights_times(w, time_windows(x, w.shape[0]))


def pointwise(x: jax.Array, w: jax.Array) -> jax.Array:
  """`[Cin, ...]` * `[Cin, Cout]` -> `[Cout, ...]`: a `1x1x1` projection."""
  return _weights_times(w, x)


def add_bias(x: jax.Array, b: jax.Array) -> jax.Array:
  """`[C, ...]` + `[C]` per channel."""
  return x + b.reshape(-1, *(1,) * (x.ndim - 1))
