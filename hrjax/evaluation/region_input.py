"""The input restricted to face regions: how well a region alone pairs a face with its heart.

Outside the chosen regions every pixel is held at its own mean over the clip: the
face's appearance stays (the network sees a face, not a hole), its changes in time
(the pulse, motion, light) are gone. A pixel partly in the region (a map's share)
keeps that share of its changes. Every method then scores the same restricted
clips, so a region's 2AFC for hrjax and for CHROM are comparable.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from hrjax.data import clip_store, regions

SKIN = 'skin'  # every region but non-skin


def region_choices(names) -> dict[str, list[int]]:
  """Region name -> the store's map channels: the summary's regions, and 'skin'."""
  choices = regions.summary_channels(names)
  choices[SKIN] = [k for k, n in enumerate(names) if n != 'non_skin']
  return choices


class RestrictedVideo:
  """`video[index]` of a split with the changes outside the regions removed (uint8)."""

  def __init__(self, video: np.ndarray, weight: np.ndarray):
    self.video, self.weight = video, weight  # [N, T, S, S, 3], [N, S, S]
    self.shape, self.dtype = video.shape, video.dtype

  def __len__(self) -> int:
    return len(self.video)

  def __getitem__(self, index) -> np.ndarray:
    clips = np.asarray(self.video[index], np.float32)
    w = np.asarray(self.weight[index], np.float32)[..., None, :, :, None]  # over time, colour
    held = clips.mean(-4, keepdims=True)
    return np.clip(np.rint(held + w * (clips - held)), 0, 255).astype(np.uint8)


def restrict(split: clip_store.Split, region: str, store: str) -> clip_store.Split:
  """The split with only `region`'s changes left (`region_choices`); ValueError naming the
  store when it has no region maps or no such region."""
  if split.regions is None:
    raise ValueError(f'{store}: no region maps, so eval.regions={region!r} cannot restrict the '
                     "input (extract real faces with --face_detector=mediapipe)")
  names = split.header.get('region_names') or list(regions.REGION_NAMES)
  choices = region_choices(names)
  if region not in choices:
    raise ValueError(f"eval.regions must be one of {', '.join(choices)}, got {region!r}")
  weight = np.asarray(split.regions, np.float32)[..., choices[region]].sum(-1)
  return dataclasses.replace(split, video=RestrictedVideo(split.video, weight))
