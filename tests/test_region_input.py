"""eval.regions: a region's changes over time kept, every other pixel held at its clip mean."""

import numpy as np
import pytest

from hrjax.data import clip_store, regions
from hrjax.evaluation import region_input


def _split(with_maps: bool) -> clip_store.Split:
  rng = np.random.default_rng(0)
  video = rng.integers(0, 256, (3, 10, 4, 4, 3)).astype(np.uint8)
  maps = np.zeros((3, 4, 4, len(regions.REGION_NAMES)), np.float16)
  maps[..., regions.NON_SKIN] = 1
  maps[:, :2, :2] = 0
  maps[:, :2, :2, regions.LEFT_CHEEK] = 1  # the top-left quarter is a cheek
  maps[:, 3, 3] = 0
  maps[:, 3, 3, [regions.NOSE, regions.NON_SKIN]] = 0.5  # a pixel half nose
  return clip_store.Split(video, np.zeros((3, 10, 2), np.float32), np.zeros((3, 2), np.float32),
                          [{'subject': str(i)} for i in range(3)],
                          {'region_names': list(regions.REGION_NAMES)},
                          maps if with_maps else None)


def test_only_the_regions_changes_remain():
  split = _split(True)
  cheeks = region_input.restrict(split, 'cheeks', 'store').video
  assert len(cheeks) == 3 and cheeks.shape == split.video.shape
  out = cheeks[np.array([2, 0])].astype(np.float32)
  original = split.video[[2, 0]].astype(np.float32)
  np.testing.assert_array_equal(out[:, :, :2, :2], original[:, :, :2, :2])
  held = np.rint(original.mean(1, keepdims=True))
  np.testing.assert_array_equal(out[:, :, 2:], np.broadcast_to(held[:, :, 2:], out[:, :, 2:].shape))
  half = region_input.restrict(split, 'nose', 'store').video[0:1].astype(np.float32)[0, :, 3, 3]
  pixel = split.video[0, :, 3, 3].astype(np.float32)
  np.testing.assert_allclose(half, pixel.mean(0) + 0.5 * (pixel - pixel.mean(0)), atol=0.51)
  skin = region_input.region_choices(regions.REGION_NAMES)['skin']
  assert regions.NON_SKIN not in skin and len(skin) == len(regions.REGION_NAMES) - 1


def test_no_maps_or_an_unknown_region_is_refused_by_name():
  with pytest.raises(ValueError, match='store: no region maps'):
    region_input.restrict(_split(False), 'cheeks', 'store')
  with pytest.raises(ValueError, match='eval.regions must be one of .*cheeks'):
    region_input.restrict(_split(True), 'ears', 'store')
