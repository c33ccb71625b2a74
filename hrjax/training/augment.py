"""The loader's flips and shifts, applied where the batch is consumed: in the train step.

The loader draws each clip's left-right flip and wrap-around shift of up to 2 pixels
(`pipeline.SubjectBatches`) and sends them beside the clips instead of moving the pixels
itself: on the host every clip then crosses memory once (the read), not three times, which
is what held the loader below what a fast step consumes (docs/performance.md). The values
are exactly what the loader made before, so training is unchanged.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def flip_and_shift(video: jax.Array, flip: jax.Array, shift: jax.Array) -> jax.Array:
  """`video [B, T, H, W, C]`, each clip reversed along W where `flip [B]` is set, then
  rolled by `shift [B, 2]` pixels along (H, W) with wrap-around (`np.roll`'s convention)."""

  def one(clip, flipped, by):
    clip = jnp.where(flipped, clip[:, :, ::-1], clip)
    return jnp.roll(clip, (by[0], by[1]), axis=(1, 2))

  return jax.vmap(one)(video, flip, shift)


def mix_colours(video: jax.Array, matrices: jax.Array) -> jax.Array:
  """`uint8 [B, ..., 3]`, each clip through its colour matrix `[B, 3, 3]`, rounded and
  clipped to uint8: `pipeline.mix_colours` for clips the loader only names (their colours
  mixed where they are, on the devices). In float32 as there, up to the order of a
  three-term sum: a pixel may land a grey level apart where the product sits on a half."""
  out = jnp.einsum('b...c,bdc->b...d', video.astype(jnp.float32), matrices,
                   precision=jax.lax.Precision.HIGHEST)
  return jnp.clip(jnp.rint(out), 0, 255).astype(jnp.uint8)
