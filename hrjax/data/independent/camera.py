"""A webcam: auto exposure and auto white balance that chase the scene, fixed-pattern gain,
shot and read noise, the sRGB curve, 8 bits, then H.264 at a bitrate (4:2:0), as web
cameras and the public copies of rPPG datasets store video."""

from __future__ import annotations

import os

import imageio_ffmpeg
import numpy as np


class Webcam:
  def __init__(self, rng: np.random.Generator, size: int, fps: float):
    self.rng = rng
    self.prnu = (1 + 0.004 * rng.standard_normal((size, size, 1))).astype(np.float32)
    self.full_well = rng.uniform(800, 4000)  # electrons at white: shot noise
    self.read = rng.uniform(0.5, 2.5)  # 8-bit levels
    self.target = rng.uniform(0.18, 0.3)  # mean linear level auto exposure aims at
    self.ae_rate = 1 / (fps * rng.uniform(0.3, 2.0))
    self.awb_rate = 1 / (fps * rng.uniform(1.0, 5.0))
    self.gain, self.wb = None, None

  def capture(self, radiance: np.ndarray) -> np.ndarray:
    """Linear scene radiance `[S, S, 3]` -> an 8-bit sRGB frame."""
    mean = radiance.mean(axis=(0, 1)) + 1e-6
    gain, wb = self.target / mean.mean(), mean.mean() / mean
    if self.gain is None:
      self.gain, self.wb = gain, wb
    self.gain += self.ae_rate * (gain - self.gain)
    self.wb = self.wb + self.awb_rate * (wb - self.wb)
    linear = np.clip(radiance * self.prnu * self.gain * self.wb, 0, 1)
    electrons = linear * self.full_well
    linear = (electrons + np.sqrt(electrons) * self.rng.standard_normal(linear.shape)) / \
        self.full_well
    srgb = np.where(linear <= 0.0031308, 12.92 * linear,
                    1.055 * np.clip(linear, 0.0031308, None) ** (1 / 2.4) - 0.055)
    value = 255 * srgb + self.read * self.rng.standard_normal(linear.shape)
    return np.clip(np.rint(value), 0, 255).astype(np.uint8)


def encode(path: str | os.PathLike, frames: np.ndarray, fps: float, kbit_s: float) -> None:
  """H.264, 4:2:0, at a target bitrate (not a quality): web-copy compression."""
  _, h, w, _ = frames.shape
  writer = imageio_ffmpeg.write_frames(
      str(path), (w, h), fps=fps, codec='libx264', pix_fmt_out='yuv420p', quality=None,
      bitrate=f'{int(kbit_s)}k', macro_block_size=2, output_params=['-preset', 'medium'],
      ffmpeg_log_level='error')
  writer.send(None)
  for frame in frames:
    writer.send(np.ascontiguousarray(frame))
  writer.close()
