"""A classical pulse inside the model: CHROM (de Haan & Jeanne 2013) from a clip's pixels.

No parameters. `PairingModel(classical='chrom')` scores a pair by its learned channels'
correlation and this pulse's correlation with the heart, weighted: the two err on different
pairs (on real faces the learned channels behave like GREEN, CHROM's per-clip tuning of its
two chrominance signals cancels what GREEN cannot; docs/transfer/classical.md).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from hrjax.models import spectral

CLASSICAL = ('none', 'chrom')


def centre_mean_rgb(video: jax.Array, fraction: float = 0.6) -> jax.Array:
  """`uint8 [B, T, H, W, 3]` -> `[B, T, 3]`: the mean colour of the central region, as the
  classical baselines take it (`evaluation.baselines.mean_rgb`)."""
  h, w = video.shape[2:4]
  dh, dw = int(h * (1 - fraction) / 2), int(w * (1 - fraction) / 2)
  return video[:, :, dh:h - dh, dw:w - dw].astype(jnp.float32).mean(axis=(2, 3))


def chrom_pulse(video: jax.Array, fps: float, bandpass: str = 'butterworth') -> jax.Array:
  """`uint8 [B, T, H, W, 3]` -> CHROM's pulse `[B, T, 1]`, band-passed (`spectral.bandpass`;
  Butterworth: the baseline's filter) and standardised, rising with blood volume."""
  rgb = centre_mean_rgb(video)
  n = rgb / (rgb.mean(axis=1, keepdims=True) + 1e-6)
  xy = jnp.stack([3 * n[..., 0] - 2 * n[..., 1],
                  1.5 * n[..., 0] + n[..., 1] - 1.5 * n[..., 2]], -1)  # [B, T, 2]
  xy = spectral.bandpass(bandpass, xy, fps)
  alpha = xy[..., :1].std(axis=1, keepdims=True) / (xy[..., 1:].std(axis=1, keepdims=True)
                                                      + 1e-9)
  s = xy[..., :1] - alpha * xy[..., 1:]
  # As the baseline: band-passed again. A tiny eps: the signal is a relative change (~1e-3).
  return spectral.standardise(spectral.bandpass(bandpass, s, fps), eps=1e-12)
