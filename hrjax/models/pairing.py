"""The pairing model: one score `s(heart, video)` per pair, and the contrastive loss.

A decision between two videos compares two separately computed scores, so
it cannot depend on the order the videos are given in. The model is a function
of its fields alone: `build_model` resolves what depends on the machine (the
blocks' layout, chunked encoding on a CPU) once, from the config.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from hrjax.models import classical as classical_pulse
from hrjax.models import heart_encoders, spectral
from hrjax.models.video import VideoEncoder

REPRESENTATIONS = ('waveform', 'hr', 'rr_summary')


class PairingModel(nn.Module):
  representation: str = 'waveform'
  channels: Sequence[int] = (8, 16, 32)
  features: int = 4
  fps: float = 30.0
  max_lag: int = 3  # frames of heart-video misalignment searched (waveform)
  gain: float = 50.0
  norm_window: int = 0
  input_mode: str = 'relative'  # the video's input: 'relative' change or frame 'difference'
  appearance: bool = True  # the first block sees the clip's mean frame (VideoEncoder)
  dtype: Any = None  # compute dtype of the video encoder's (2+1)D blocks; None: float32
  encode_chunk: int = 0  # clips per video-encoder pass (a CPU's caches); 0: the whole batch
  channels_first: bool = False  # the blocks as matmuls on [C, H, W, B, T] (channels_first.py)
  # A classical pulse ('chrom') as one more channel of both embeddings (waveform only): the
  # score is (1 - classical_weight) x the learned channels' best lagged correlation +
  # classical_weight x its best lagged correlation with the recorded pulse (classical.py).
  # The training step trains a clone without it (training/step.py, compile_config_step).
  classical: str = 'none'
  classical_weight: float = 0.25
  bandpass: str = 'fft'  # of the pulse features and the heart (spectral.BANDPASSES)

  def setup(self):
    if self.representation not in REPRESENTATIONS:
      raise ValueError(f'representation must be one of {REPRESENTATIONS}, '
                       f'got {self.representation!r}')
    if self.classical not in classical_pulse.CLASSICAL or (
        self.classical != 'none' and self.representation != 'waveform'):
      raise ValueError(f'classical must be one of {classical_pulse.CLASSICAL} (with a waveform '
                       f'heart), got {self.classical!r} with {self.representation!r}')
    self.grid = spectral.bpm_grid()
    self.video_encoder = VideoEncoder(self.channels, self.features, self.gain,
                                      norm_window=self.norm_window, dtype=self.dtype,
                                      input_mode=self.input_mode, appearance=self.appearance,
                                      channels_first=self.channels_first)
    if self.representation == 'waveform':
      self.heart_encoder = heart_encoders.WaveformEncoder(self.features)
    elif self.representation == 'hr':
      self.heart_encoder = heart_encoders.RateEncoder(self.grid)
      self.video_refiner = heart_encoders.FrequencyRefiner()
    else:
      self.heart_encoder = heart_encoders.RRSummaryEncoder(self.grid)
      self.video_refiner = heart_encoders.FrequencyRefiner()
    self.log_scale = self.param('log_scale', nn.initializers.constant(jnp.log(10.0)), ())

  def pulse(self, video: jax.Array) -> jax.Array:
    """`uint8 [B, T, H, W, 3]` -> band-passed, standardised pulse features `[B, T, D]`.

    With `encode_chunk`, the clips go through the encoder a few at a time (same
    weights, same result): on a CPU one chunk's activations stay in the cache
    through the forward and backward pass of a block instead of streaming
    through memory. Chunk j holds clips j, j + n, j + 2n, ... so that a batch
    split over devices splits every chunk evenly.
    """
    n = _chunk_count(video.shape[0], self.encode_chunk)
    if n == 1:
      z = self.video_encoder(video)
    else:
      grouped = video.reshape(-1, n, *video.shape[1:])
      z = jnp.stack([self.video_encoder(grouped[:, j]) for j in range(n)], axis=1)
      z = z.reshape(video.shape[0], *z.shape[2:])
    return spectral.standardise(spectral.bandpass(self.bandpass, z, self.fps))

  def encode_video(self, video: jax.Array) -> jax.Array:
    return self._embed_pulse(self.pulse(video), video)

  def _embed_pulse(self, z: jax.Array, video: jax.Array) -> jax.Array:
    if self.representation == 'waveform':
      if self.classical == 'chrom':  # the last channel: CHROM's pulse
        z = jnp.concatenate([z, classical_pulse.chrom_pulse(video, self.fps)], axis=-1)
      return z
    power = spectral.power_spectrum(z, self.fps, self.grid)  # [B, F, D]
    power = (power / (power.sum(1, keepdims=True) + 1e-6)).mean(-1)
    return jax.nn.softmax(self.video_refiner(power), axis=-1)

  def encode_heart(self, heart: jax.Array, rr: jax.Array) -> jax.Array:
    if self.representation == 'waveform':
      z = spectral.standardise(spectral.bandpass(self.bandpass, self.heart_encoder(heart),
                                                 self.fps))
      if self.classical != 'none':  # the last channel: the recorded pulse, as baselines take it
        z = jnp.concatenate([z, spectral.standardise(heart[..., :1])], axis=-1)
      return z
    logits = self.heart_encoder(heart if self.representation == 'hr' else rr)
    return jax.nn.softmax(logits, axis=-1)

  def _scale(self) -> jax.Array:
    return jnp.exp(jnp.minimum(self.log_scale, jnp.log(100.0)))

  def similarity(self, h: jax.Array, v: jax.Array) -> jax.Array:
    """Embeddings of B1 hearts and B2 videos -> logits `[B1, B2]`, every heart against
    every video."""
    if self.representation == 'waveform':
      return self._scale() * self._best_lag(spectral.lagged_correlation, h, v)
    # Bhattacharyya coefficient of the two rate distributions.
    return self._scale() * jnp.sqrt(h[:, None, :] * v[None, :, :] + 1e-12).sum(-1)

  def pair_similarity(self, h: jax.Array, v: jax.Array) -> jax.Array:
    """Embeddings of B hearts and their B videos -> the logit of each pair `[B]` (the
    diagonal of `similarity`, without the other B * (B - 1) pairs)."""
    if self.representation == 'waveform':
      return self._scale() * self._best_lag(spectral.paired_lagged_correlation, h, v)
    return self._scale() * jnp.sqrt(h * v + 1e-12).sum(-1)

  def _best_lag(self, correlate, h: jax.Array, v: jax.Array) -> jax.Array:
    """The best lagged correlation of waveform embeddings; with a classical channel (the
    last), the learned channels' best and its own best, weighted by `classical_weight`: each
    at its own lag (the learned channels' window is learned, the classical one's centred)."""
    if self.classical == 'none':
      return correlate(h, v, self.max_lag).max(-1)
    w = self.classical_weight
    return ((1 - w) * correlate(h[..., :-1], v[..., :-1], self.max_lag).max(-1)
            + w * correlate(h[..., -1:], v[..., -1:], self.max_lag).max(-1))

  def pair_scores(self, video: jax.Array, heart: jax.Array, rr: jax.Array) -> jax.Array:
    """Clip i's heart against clip i's video: `[B]` logits (prediction, saliency)."""
    return self.pair_similarity(self.encode_heart(heart, rr), self.encode_video(video))

  def __call__(self, video: jax.Array, heart: jax.Array, rr: jax.Array) -> jax.Array:
    """Every heart against every video: `[B, B]` logits (training, evaluation)."""
    return self.similarity(self.encode_heart(heart, rr), self.encode_video(video))

  def logits_and_pulse(self, video: jax.Array, heart: jax.Array,
                       rr: jax.Array) -> tuple[jax.Array, jax.Array]:
    """`__call__`'s logits and the video encoder's pulse features `[B, T, D]` they came
    from (training with the spectral priors of unlabeled clips), one encoder pass."""
    z = self.pulse(video)
    return self.similarity(self.encode_heart(heart, rr), self._embed_pulse(z, video)), z


def _chunk_count(batch: int, chunk: int) -> int:
  """Chunks of about `chunk` clips that divide `batch` evenly (1: no chunking)."""
  n = batch // chunk if chunk > 0 else 1
  while n > 1 and batch % n:
    n -= 1
  return max(n, 1)


def contrastive_loss(logits: jax.Array, labeled: jax.Array | None = None) -> jax.Array:
  """Symmetric InfoNCE over a `[B, B]` matrix whose diagonal holds the true pairs; with
  `labeled` (a `[B]` 0/1 mask), over the labeled clips' rows and columns only (an
  unlabeled clip's heart is no heart, and its video no one's negative)."""
  labels = jnp.arange(logits.shape[0])
  if labeled is None:
    rows = optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
    cols = optax.softmax_cross_entropy_with_integer_labels(logits.T, labels).mean()
    return 0.5 * (rows + cols)
  keep = labeled > 0
  pairs = keep[:, None] & keep[None, :]
  masked = jnp.where(pairs, logits, -1e9)
  n = jnp.maximum(labeled.sum(), 1.0)
  rows = optax.softmax_cross_entropy_with_integer_labels(masked, labels)
  cols = optax.softmax_cross_entropy_with_integer_labels(masked.T, labels)
  return 0.5 * (jnp.where(keep, rows + cols, 0.0).sum() / n)


def build_model(cfg, backend: str | None = None) -> PairingModel:
  """The model named by `config.model` (and `config.data.fps`) for `backend` (default: the
  one JAX computes on). `block_layout='auto'` means channel-first matmuls on a CPU and
  cuDNN's convolutions elsewhere; `encode_chunk` applies on a CPU only; `compute_dtype='auto'`
  is bfloat16 on an accelerator and float32 on a CPU, whose XLA backend converts bfloat16
  instead of computing in it (docs/performance.md)."""
  m = cfg.model
  cpu = (backend or jax.default_backend()) == 'cpu'
  if m.block_layout not in BLOCK_LAYOUTS:
    raise ValueError(f'model.block_layout must be one of {BLOCK_LAYOUTS}, got {m.block_layout!r}')
  channels_first = cpu if m.block_layout == 'auto' else m.block_layout == 'channels_first'
  return PairingModel(representation=m.representation, channels=tuple(m.channels),
                      features=m.features, fps=cfg.data.fps, max_lag=m.max_lag, gain=m.gain,
                      norm_window=m.norm_window, input_mode=m.get('input', 'relative'),
                      appearance=m.get('appearance', True),
                      classical=m.get('classical') or 'none',
                      classical_weight=m.get('classical_weight', 0.25),
                      bandpass=m.get('bandpass', 'fft'),
                      dtype=compute_dtype(m.compute_dtype, cpu),
                      encode_chunk=m.encode_chunk if cpu else 0, channels_first=channels_first)


BLOCK_LAYOUTS = ('auto', 'channels_first', 'channels_last')


def compute_dtype(name: str, cpu: bool):
  """`config.model.compute_dtype` on a CPU or not: None for float32 (no casts at all: the
  plain float32 graph), else the JAX dtype; 'auto': float32 on a CPU, bfloat16 elsewhere."""
  if name == 'auto':
    name = 'float32' if cpu else 'bfloat16'
  return None if name == 'float32' else jnp.dtype(name)
