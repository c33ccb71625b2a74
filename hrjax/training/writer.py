"""TensorBoard writer: scalars, images, hparams, text. Only process 0 writes."""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np


class MetricWriter:
  """TensorBoard events from process 0. The folder is made at the first write, so that a
  run stopped by a bad setting leaves no empty event file behind."""

  def __init__(self, logdir: str | Path):
    self.enabled = jax.process_index() == 0
    self._logdir, self._open = str(logdir), None

  @property
  def _tb(self):
    if self._open is None:
      from tensorboardX import SummaryWriter
      self._open = SummaryWriter(self._logdir)
    return self._open

  def write_scalars(self, step: int, scalars: dict) -> None:
    if self.enabled:
      for k, v in scalars.items():
        self._tb.add_scalar(k, float(v), step)

  def write_images(self, step: int, images: dict) -> None:
    """`images`: name -> `[N, H, W, 3]` uint8 or float in [0, 1]."""
    if self.enabled:
      for k, v in images.items():
        self._tb.add_images(k, np.asarray(v), step, dataformats='NHWC')

  def write_text(self, step: int, name: str, text: str) -> None:
    if self.enabled:
      self._tb.add_text(name, text, step)

  def write_hparams(self, hparams: dict, metrics: dict) -> None:
    if self.enabled:
      flat = {k: v if isinstance(v, (int, float, str, bool)) else str(v)
              for k, v in hparams.items()}
      self._tb.add_hparams(flat, {f'hparams/{k}': float(v) for k, v in metrics.items()})

  def flush(self) -> None:
    if self.enabled and self._open is not None:
      self._open.flush()

  def close(self) -> None:
    if self.enabled and self._open is not None:
      self._open.close()
