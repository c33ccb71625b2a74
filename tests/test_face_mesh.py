"""MediaPipe's FaceMesh as the face detector, through its helper process, and the skin-region
maps its landmarks give real faces.

The FaceMesh tests need the helper's Python (`make faces`, which `make test` runs); they
are skipped without it. Every video is drawn here (tests/ingest_files.py).
"""

import dataclasses
import sys

import numpy as np
import pytest

from hrjax.data import clip_store, extract, face, face_mesh, face_regions, regions
from hrjax.errors import HelperError
from tests import ingest_files as files

needs_mesh = pytest.mark.skipif(not face_mesh.Path(face_mesh.default_python()).is_file(),
                                reason='no .venv-faces (make faces)')


@needs_mesh
def test_face_mesh_follows_a_drawn_face_and_finds_none_in_a_blank_frame():
  hw, n = (240, 320), 6
  frames = files.face_frames(n, hw=hw, drawn_face=True)
  blank = files.face_frames(1, hw=hw)[0]
  with face_mesh.FaceMesh() as mesh:
    found = [mesh(f, 0.08) for f in frames]
    assert mesh(blank, 0.08) is None
  truth_x = hw[1] // 3 + np.arange(n) * hw[1] / 3 / n
  assert all(f is not None and f.landmarks.shape == (468, 2) for f in found)
  np.testing.assert_allclose([f.cx for f in found], truth_x, atol=6)
  np.testing.assert_allclose([f.cy for f in found], hw[0] / 2, atol=8)
  r = hw[0] // 4  # the drawn face is 2r tall
  assert all(1.6 * r < f.side < 2.6 * r for f in found)


@needs_mesh
def test_a_face_mesh_store_holds_region_maps_placed_on_the_face(tmp_path):
  root = tmp_path / 'ubfc'
  beats = files.beats_for(8, 0)
  for k in (1, 2):
    folder = root / f'subject{k}'
    files.write_ubfc(folder, beats, 150)
    files.write_video(folder / 'vid.mp4', files.face_frames(150, hw=(240, 320), beats=beats,
                                                            drawn_face=True), 'h264')
  settings = extract.ExtractSettings(crop='face', face_detector='mediapipe', size=16,
                                     clip_frames=64, split_fractions=(0, 0, 1))
  summary = extract.extract('ubfc_rppg', root, tmp_path / 'store', settings, progress=False)
  assert [t['face_share'] for t in summary['taken']] == [1.0, 1.0]
  store = tmp_path / 'store'
  assert clip_store.read_header(store)['region_names'] == list(regions.REGION_NAMES)
  maps = np.asarray(clip_store.open_split(store, 'test').regions, np.float32)
  assert maps.shape[1:] == (16, 16, len(regions.REGION_NAMES))
  np.testing.assert_allclose(maps.sum(-1), 1, atol=2e-3)
  rows, cols = np.mgrid[:16, :16]
  centre = lambda label: [(m[..., label] * g).sum() / m[..., label].sum()
                          for m in maps for g in (rows, cols)]
  forehead, left, right, chin = (np.reshape(centre(k), (-1, 2)) for k in (
      regions.FOREHEAD, regions.LEFT_CHEEK, regions.RIGHT_CHEEK, regions.CHIN_JAW))
  assert np.all(forehead[:, 0] < left[:, 0]) and np.all(left[:, 0] < chin[:, 0])
  assert np.all(left[:, 1] < 7.5) and np.all(right[:, 1] > 7.5)  # the image's left and right
  assert np.all(maps[..., regions.NON_SKIN][:, 0, 0] > 0.99)  # the crop's corner is background


def test_a_missing_or_broken_face_python_fails_before_anything_is_written(tmp_path):
  root = tmp_path / 'ubfc'
  files.write_ubfc(root / 'subject1', files.beats_for(3, 0), 60)
  settings = extract.ExtractSettings(crop='face', face_detector='mediapipe',
                                     face_python=str(tmp_path / 'nowhere' / 'python'),
                                     split_fractions=(0, 0, 1))
  with pytest.raises(FileNotFoundError, match='make faces'):
    extract.extract('ubfc_rppg', root, tmp_path / 'store', settings, progress=False)
  assert not (tmp_path / 'store').exists()
  broken = dataclasses.replace(settings, face_python=sys.executable)  # hrjax's: no mediapipe
  with pytest.raises(HelperError, match='MediaPipe helper .* did not start.*mediapipe'):
    extract.extract('ubfc_rppg', root, tmp_path / 'store', broken, progress=False)
  assert not (tmp_path / 'store').exists()


def test_older_five_channel_maps_gain_zero_nose_and_chin_channels():
  old = np.random.default_rng(0).dirichlet(np.ones(5), (4, 4)).astype(np.float32)
  new = regions.padded(old)
  assert new.shape == (4, 4, 7) and np.all(new[..., 5:] == 0)
  np.testing.assert_array_equal(new[..., :5], old)
  assert set(regions.summary_channels(regions.REGION_NAMES[:5])) == {
      'forehead', 'cheeks', 'other_skin', 'non_skin'}
  assert regions.summary_channels()['cheeks'] == [regions.LEFT_CHEEK, regions.RIGHT_CHEEK]


def test_a_clip_map_averages_the_sampled_frames_inside_its_span():
  # Landmarks of a face mesh are not needed to check the averaging: two frames whose
  # 'landmarks' all sit in one corner or the other of the crop label only the oval's inside.
  points = np.zeros((2, 468, 2), np.float32)
  points[0] = np.random.default_rng(0).uniform(0, 40, (468, 2))  # a blob, top-left
  points[1] = np.random.default_rng(1).uniform(60, 100, (468, 2))  # bottom-right
  marks = face.Landmarks(np.array([0, 10]), points, np.array([[0, 0, 100, 100]] * 2))
  times = np.arange(20) / 10.0
  first, both, after = face_regions.clip_maps(marks, times, [(0.0, 0.5), (0.0, 1.5), (1.6, 1.9)],
                                              8)
  np.testing.assert_allclose(both, (first.astype(np.float32) + after) / 2, atol=1e-3)
  assert first[..., regions.NON_SKIN][7, 7] == 1 and after[..., regions.NON_SKIN][0, 0] == 1
