"""Face crop: boxes from a detector every few frames, settled as frames stream, one decoding
pass with a bounded buffer, and the same result when the buffer overflows into a second pass.

Every video is written here (tests/ingest_files.py); nothing is read from outside.
"""

import dataclasses
import threading

import numpy as np
import pytest

from hrjax.data import adapters, crop, extract, face, face_crop, video_io
from hrjax.errors import InputError
from tests import ingest_files as files


def test_face_boxes_follow_a_moving_face_and_no_face_falls_back(tmp_path, caplog):
  n, hw = 60, (120, 160)
  frames = files.face_frames(n, hw=hw, drawn_face=True)
  boxes, share, seen = face.track_faces(iter(frames), hw, 30.0, face.FaceSettings(every=5))
  assert seen == n and share >= 0.8
  centre_x = boxes[:, 1] + boxes[:, 3] / 2
  truth_x = hw[1] // 3 + np.arange(n) * hw[1] / 3 / n
  assert np.abs(centre_x - truth_x)[10:-10].max() < 8  # smoothing lags a little at the ends
  assert np.all(boxes[:, 2] <= hw[0]) and np.all(boxes[:, 0] >= 0)
  assert np.all(boxes[:, 2] > 1.2 * hw[0] / 4)  # enlarged beyond the face

  blank = tmp_path / 'subject1'
  files.write_ubfc(blank, files.beats_for(3, 0), 90)
  rec = adapters.ubfc_rppg(tmp_path)[0]
  settings = extract.ExtractSettings(crop='face', size=8)
  with pytest.raises(InputError, match='no face found in any of 9 sampled frames'):
    extract.decode_recording(rec, settings, progress=False)
  decoded = extract.decode_recording(
      rec, dataclasses.replace(settings, face_fallback='center'), progress=False)
  assert decoded.video.shape == (90, 8, 8, 3) and decoded.notes['face_share'] == 0.0
  assert 'cropping the centre' in caplog.text


def _scripted(hits):
  """A detector that answers from `hits` in call order (None: no face), whatever the frame."""
  calls = iter(hits)
  return lambda frame, min_face, near=None: next(calls)


@pytest.mark.parametrize('every, smooth_s', [(5, 1.0), (3, 0.5), (4, 0.0)])
def test_boxes_settled_while_streaming_are_the_whole_videos_boxes(every, smooth_s):
  rng = np.random.default_rng(every)
  n = 300
  samples = (n + every - 1) // every
  hits = [(40 + rng.normal(0, 3), 60 + rng.normal(0, 3), 30 + rng.normal(0, 2))
          for _ in range(samples)]
  for lo, hi in ((0, 4), (20, 23), (30, 50), (samples - 3, samples)):  # gaps, a leading one too
    hits[lo:hi] = [None] * (hi - lo)
  s = face.FaceSettings(every=every, smooth_s=smooth_s)
  frame = np.zeros((96, 128, 3), np.uint8)
  tracker = face.FaceTracker((96, 128), 30.0, s, detect=_scripted(hits))
  streamed, moved_on = [], 0
  for _ in range(n):
    tracker.see(frame)
    settled = tracker.settled
    assert settled >= moved_on
    if settled > moved_on:
      streamed.append(tracker.boxes(moved_on, settled))
      moved_on = settled
  whole, share, count = face.track_faces(iter([frame] * n), (96, 128), 30.0, s,
                                         detect=_scripted(hits))
  assert count == n and share == pytest.approx(np.mean([h is not None for h in hits]))
  assert moved_on > n // 2  # most frames settled long before the end
  np.testing.assert_array_equal(np.concatenate(streamed), whole[:moved_on])
  np.testing.assert_array_equal(tracker.boxes(0, n), whole)


@pytest.mark.parametrize('planes_from', [0, video_io.PLANES_MIN_PIXELS])  # YUV planes; RGB
def test_one_pass_face_crop_equals_a_second_pass_and_cropping_each_frame(
    tmp_path, monkeypatch, planes_from):
  monkeypatch.setattr(video_io, 'PLANES_MIN_PIXELS', planes_from)
  n, hw = 90, (120, 160)
  path = files.write_video(tmp_path / 'face.mp4', files.face_frames(n, hw=hw, drawn_face=True),
                           'h264')
  info = video_io.probe(path)
  fs = face.FaceSettings(every=5)
  runs = [face_crop.face_crop(path, video_io.iter_frames(path, planes=True), info, fs, 16,
                              None, name='face', progress=False, buffer_bytes=limit)
          for limit in (face_crop.BUFFER_BYTES, 10 * 120 * 160 * 3 // 2)]  # the 2nd overflows
  (one, boxes, share, marks), (two, boxes2, share2, _) = runs
  assert share >= 0.8 and share == share2 and marks is None  # Haar gives no landmarks
  np.testing.assert_array_equal(boxes, boxes2)
  np.testing.assert_array_equal(np.stack(one), np.stack(two))
  frames = list(video_io.iter_frames(path, planes=True))  # as extraction reads them
  assert (type(frames[0]).__name__ == 'Yuv420') == (planes_from == 0)
  whole, _, _ = face.track_faces(iter(frames), hw, 30.0, fs)  # detection in line
  np.testing.assert_array_equal(boxes, whole)
  each = [crop.CropResize(tuple(b), 16)(f).astype(np.float16) for f, b in zip(frames, whole)]
  np.testing.assert_array_equal(np.stack(one), np.stack(each))


def test_stopping_a_read_early_stops_its_reader_thread(tmp_path):
  path = files.write_video(tmp_path / 'a.mp4', files.face_frames(40, hw=(32, 48)), 'h264')
  frames = video_io.iter_frames(path)
  first = [next(frames) for _ in range(3)]
  frames.close()
  assert len(first) == 3
  assert not [t for t in threading.enumerate() if t.name == 'video-read-ahead']


def test_area_resize_through_opencv_equals_the_area_matrices():
  rng = np.random.default_rng(0)
  for h, w, size, channels in ((50, 37, 16, 3), (16, 40, 16, 1), (90, 90, 36, 4)):
    frame = rng.integers(0, 256, (100, 100, channels), np.uint8)
    resize = crop.CropResize((3, 5, h, w), size)
    part = frame[3:3 + h, 5:5 + w].astype(np.float32)
    rows = (resize.rows @ part.reshape(h, -1)).reshape(size, w, channels)
    np.testing.assert_allclose(resize(frame), resize.cols @ rows, atol=1e-4)


def test_a_detector_failing_in_its_thread_fails_the_crop_and_stops_the_thread():
  from hrjax.data import face_thread

  def detect(frame, min_face, near=None):
    if detect.calls == 2:
      raise RuntimeError('helper died')
    detect.calls += 1
    return (40.0, 60.0, 30.0)
  detect.calls = 0
  tracker = face.FaceTracker((96, 128), 30.0, face.FaceSettings(every=2), detect=detect)
  frame = np.zeros((96, 128, 3), np.uint8)
  with pytest.raises(RuntimeError, match='helper died'):
    with face_thread.BackgroundDetections(tracker) as detections:
      for _ in range(40):  # more sampled frames than the queue holds: none may block
        detections.see(frame)
      detections.finish()
  assert len(tracker.found) == 2
  assert not [t for t in threading.enumerate() if t.name == 'face-detection']
