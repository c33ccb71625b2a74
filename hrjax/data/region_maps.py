"""Each clip's region map (`regions.py`): the generator's map cropped as the clip's frames were,
or a real face's from its landmarks (`face_regions.py`).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from absl import logging

from hrjax.data import adapters, crop, face_regions, regions
from hrjax.errors import InputError

if TYPE_CHECKING:  # extract imports this module
  from hrjax.data.extract import Clip, Decoded, ExtractSettings


def clip_region_maps(rec: adapters.Recording, decoded: Decoded, clips: list[Clip],
                     s: ExtractSettings) -> np.ndarray:
  """`float16 [N, S, S, R]`: each clip's region map (`regions.py`): the recording's own (the
  generator's), else from the face's landmarks, else (a recording whose face was never
  found, cropped at the centre) all non-skin."""
  if rec.regions is not None:
    return clip_regions(rec.regions, decoded, clips, s)
  if decoded.landmarks is not None:
    spans = [(decoded.times[c.start], decoded.times[c.start + s.clip_frames - 1]) for c in clips]
    return face_regions.clip_maps(decoded.landmarks, decoded.source_times, spans, s.size)
  logging.warning('%s: no face landmarks, so its clips are all non-skin in the region maps',
                  rec.video)
  maps = np.zeros((len(clips), s.size, s.size, len(regions.REGION_NAMES)), np.float16)
  maps[..., regions.NON_SKIN] = 1
  return maps


def clip_regions(path: Path, decoded: Decoded, clips: list[Clip], s: ExtractSettings
                 ) -> np.ndarray:
  """`float16 [N, S, S, R]`: a recording's region map (`regions.py`) under each clip, cropped
  and resized as its frames were (averaged over the clip's crop boxes)."""
  occupancy = regions.padded(np.load(path).astype(np.float32))
  if occupancy.shape[:2] != decoded.frame_hw:
    raise InputError(path, f'a region map of {occupancy.shape[:2]} pixels for a video of '
                     f'{decoded.frame_hw}')
  crop_at = functools.lru_cache(maxsize=64)(
      lambda box: crop.CropResize(box, s.size)(occupancy))
  maps = []
  for clip in clips:
    boxes, counts = np.unique(decoded.boxes[clip.start:clip.start + s.clip_frames], axis=0,
                              return_counts=True)
    total = sum(c * crop_at(tuple(int(x) for x in b)) for b, c in zip(boxes, counts))
    maps.append(total / counts.sum())
  return np.stack(maps).astype(np.float16)
