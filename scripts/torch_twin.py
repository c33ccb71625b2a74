"""hrjax's waveform pairing network written again in PyTorch, for the benchmark only.

Same layers, shapes and loss as `hrjax.models` with the quick config: input
normalisation, three (2+1)D blocks (spatial 3x3 conv, the first with stride 2
and a per-clip appearance context; temporal 5-tap conv; 1x1x1 projection;
ReLUs), 2x2 average pooling between blocks, attention pooling over space, a
3-tap output conv plus the colour skip, the heart branch, FFT band-pass,
standardisation, lagged correlation over +-L frames and symmetric InfoNCE;
AdamW with gradient clipping. Convolutions run as Conv3d in channels-last-3d
memory format (oneDNN). Optional: needs `torch` (not a dependency of hrjax).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class Block(nn.Module):
  def __init__(self, cin: int, c: int, stride: int, context: int = 0):
    super().__init__()
    self.stride = stride
    self.spatial = nn.Conv3d(cin, c, (1, 3, 3), (1, stride, stride), bias=True)
    self.context = nn.Conv2d(context, c, 3, stride, bias=False) if context else None
    self.temporal = nn.Conv3d(c, c, (5, 1, 1), padding=(2, 0, 0))
    self.project = nn.Conv3d(c, c, 1)

  def _same(self, x):  # TF-style SAME padding for a 3x3 kernel
    return F.pad(x, (0, 1, 0, 1) if self.stride == 2 else (1, 1, 1, 1))

  def forward(self, x, appearance=None):
    y = self.spatial(self._same(x))
    if self.context is not None:
      y = y + self.context(self._same(appearance)).unsqueeze(2)
    x = F.relu(y)
    x = F.relu(self.temporal(x))
    return F.relu(self.project(x))


class TwinModel(nn.Module):
  def __init__(self, channels=(8, 16, 32), features=4, fps=30.0, max_lag=3, gain=50.0,
               frames=128):
    super().__init__()
    self.gain, self.max_lag, self.features = gain, max_lag, features
    cins = (3,) + tuple(channels[:-1])
    self.blocks = nn.ModuleList(Block(ci, c, 2 if i == 0 else 1, 3 if i == 0 else 0)
                                for i, (ci, c) in enumerate(zip(cins, channels)))
    self.colour = nn.Linear(3, features, bias=False)
    self.attention = nn.Linear(channels[-1], 1, bias=False)
    self.out = nn.Conv1d(channels[-1], features, 3, padding=1, bias=False)
    self.h0 = nn.Conv1d(1, 16, 5, padding=2)
    self.h1 = nn.Conv1d(16, 16, 5, padding=2)
    self.h2 = nn.Conv1d(16, features, 1, bias=False)
    nn.init.zeros_(self.h2.weight)
    self.log_scale = nn.Parameter(torch.tensor(float(np.log(10.0))))
    freqs = np.fft.rfftfreq(frames, 1.0 / fps) * 60.0
    self.register_buffer('mask', torch.tensor(((freqs >= 40) & (freqs <= 200)).astype(np.float32)))

  def _bandpass_standardise(self, z):  # [B, T, D] along T
    z = torch.fft.irfft(torch.fft.rfft(z, dim=1) * self.mask[None, :, None], n=z.shape[1], dim=1)
    z = z - z.mean(1, keepdim=True)
    return z / torch.sqrt((z * z).mean(1, keepdim=True) + 1e-6)

  def encode_video(self, video):  # uint8 [B, T, H, W, 3]
    x = video.float().permute(0, 4, 1, 2, 3).contiguous(memory_format=torch.channels_last_3d)
    mean = x.mean(2, keepdim=True)
    rel = 3.0 * torch.tanh((x - mean) / (mean + 1.0) * self.gain / 3.0)
    appearance = (mean[:, :, 0] / 255.0 - 0.5).contiguous(memory_format=torch.channels_last)
    colour = self.colour(rel.mean((3, 4)).transpose(1, 2))  # [B, T, D]
    x = rel
    for i, block in enumerate(self.blocks):
      x = block(x, appearance if i == 0 else None)
      if i < len(self.blocks) - 1:
        x = F.avg_pool3d(x, (1, 2, 2))
    b, c, t, h, w = x.shape
    logits = self.attention(x.mean(2).permute(0, 2, 3, 1)).reshape(b, h * w)
    weights = torch.softmax(logits, -1).reshape(b, 1, 1, h, w)
    pooled = (x * weights).sum((3, 4))  # [B, C, T]
    z = self.out(pooled).transpose(1, 2) + colour
    return self._bandpass_standardise(z)

  def encode_heart(self, heart):  # [B, T, 2]
    x = heart[..., :1].transpose(1, 2)
    y = F.relu(self.h1(F.relu(self.h0(x))))
    return self._bandpass_standardise((x + self.h2(y)).transpose(1, 2))

  def forward(self, video, heart):
    h, v = self.encode_heart(heart), self.encode_video(video)
    t, lag = h.shape[1], self.max_lag
    core = v[:, lag:t - lag]
    n = core.shape[1] * core.shape[2]
    corr = torch.stack([torch.einsum('itd,jtd->ij', h[:, lag + s:t - lag + s], core) / n
                        for s in range(-lag, lag + 1)], -1)
    return torch.exp(torch.clamp(self.log_scale, max=float(np.log(100.0)))) * corr.amax(-1)


def pick_device() -> str:
  """'cuda' where PyTorch sees a GPU and the benchmark is not held to the CPU
  (JAX_PLATFORMS=cpu), else 'cpu'."""
  import os
  on_cpu = os.environ.get('JAX_PLATFORMS', '').strip() == 'cpu'
  return 'cuda' if torch.cuda.is_available() and not on_cpu else 'cpu'


def make_step(batch_size: int, frames: int, size: int, channels, lr=3e-3, device: str = 'cpu',
              bfloat16: bool = False):
  """A train step closure on fixed random data: forward, InfoNCE, backward, clip, AdamW.
  Returns the loss as a tensor (no wait for the device: time a run of steps, then
  `torch.cuda.synchronize`). On a GPU: cuDNN with its autotuner and TF32, as JAX's
  default float32 precision there; `bfloat16` computes under autocast (the gpu config's
  compute_dtype), master weights float32."""
  torch.manual_seed(0)
  if device == 'cuda':
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
  model = TwinModel(tuple(channels), frames=frames).to(device)
  opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
  rng = np.random.default_rng(0)
  video = torch.tensor(rng.integers(40, 220, (batch_size, frames, size, size, 3)).astype(np.uint8),
                       device=device)
  heart = torch.tensor(np.stack([rng.normal(size=(batch_size, frames)),
                                 np.full((batch_size, frames), 70.0)], -1).astype(np.float32),
                       device=device)
  labels = torch.arange(batch_size, device=device)

  def step():
    opt.zero_grad(set_to_none=True)
    with torch.autocast(device, dtype=torch.bfloat16, enabled=bfloat16):
      logits = model(video, heart).float()
    loss = 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return loss.detach()

  return step, sum(p.numel() for p in model.parameters())
