"""Face-region maps: the labels that the synthetic generator writes, extraction carries into
the clip store and saliency sums attribution over (one contract, imported by all three).

A region map is `float [S, S, R]`: the share of the time each pixel showed each
region (its channels sum to one). The generator writes one per recording,
`REGIONS_FILE` beside the video at the rendered size; extraction crops and
resizes it the way it crops the frames and stores one per clip. Real faces get
theirs from FaceMesh landmarks (`face_regions.py`), per clip. Left and right are
the image's (a camera facing the person: the left cheek is the person's right).
Maps written before the nose and chin were labels have five channels: the first
five, the last two zero.
"""

from __future__ import annotations

import numpy as np

NON_SKIN, FOREHEAD, LEFT_CHEEK, RIGHT_CHEEK, OTHER_SKIN, NOSE, CHIN_JAW = range(7)
REGION_NAMES = ('non_skin', 'forehead', 'left_cheek', 'right_cheek', 'other_skin', 'nose',
                'chin_jaw')
REGIONS_FILE = 'regions.npy'  # beside a recording's video

# The regions a summary reports, each a set of labels (the two cheeks together).
SUMMARY = {'forehead': ('forehead',), 'cheeks': ('left_cheek', 'right_cheek'),
           'nose': ('nose',), 'chin_jaw': ('chin_jaw',), 'other_skin': ('other_skin',),
           'non_skin': ('non_skin',)}


def summary_channels(names: list[str] | tuple[str, ...] = REGION_NAMES,
                     groups: dict | None = None) -> dict[str, list[int]]:
  """The summary's regions (or `groups`: name -> labels) that a store's maps (channels
  `names`) hold: name -> channels. A group is left out when a label is missing; labels
  the maps do not have are skipped where some other label of the group is there."""
  out = {}
  for region, labels in (groups or SUMMARY).items():
    channels = [list(names).index(n) for n in labels if n in names]
    if channels and (groups is not None or len(channels) == len(labels)):
      out[region] = channels
  return out


def padded(maps: np.ndarray) -> np.ndarray:
  """Maps of an older generator (fewer channels, a prefix of REGION_NAMES) with the labels
  it did not know added as zeros."""
  missing = len(REGION_NAMES) - maps.shape[-1]
  if missing < 0:
    raise ValueError(f'a region map of {maps.shape[-1]} channels; regions are {REGION_NAMES}')
  return np.concatenate([maps, np.zeros(maps.shape[:-1] + (missing,), maps.dtype)], -1)
