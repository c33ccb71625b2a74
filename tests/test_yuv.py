"""Frames taken as their YUV 4:2:0 planes: the crop's average converted after, against
converting every pixel first, and against ffmpeg's own RGB."""

import sys

import imageio_ffmpeg
import numpy as np
import pytest

from hrjax.data import crop, in_process, video_io, yuv
from tests import ingest_files as files


@pytest.mark.parametrize('pix_fmt, matrix', [
    ('yuv420p(progressive)', 'bt601'), ('yuv420p', 'bt601'),
    ('yuv420p(tv, bt709, progressive)', 'bt709'),
    ('yuv420p(tv, bt470bg/bt470bg/smpte170m, progressive)', 'bt601'),
    ('yuv420p(tv, bt2020nc/bt2020/smpte2084)', 'bt2020'),
    ('yuv420p(tv, progressive, left)', 'bt601'), ('yuv420p(top first, left)', 'bt601'),
    ('yuv420p(tv, unknown/bt709/unknown, progressive)', 'bt601'),
    ('yuv420p(pc, bt709, progressive)', None),  # full range: ffmpeg converts
    ('yuv420p(tv, fcc)', None), ('yuvj420p(pc, bt470bg/unknown/unknown)', None),
    ('gbrp(pc, gbr/unknown/unknown, progressive)', None), ('yuv444p(progressive)', None)])
def test_which_streams_come_as_planes(pix_fmt, matrix):
  assert yuv.matrix_of(pix_fmt) == matrix


@pytest.mark.parametrize('box', [(0, 0, 15, 21), (1, 3, 12, 13), (2, 1, 9, 20), (5, 8, 4, 3)])
def test_a_crop_of_the_planes_is_the_crop_of_every_pixel_converted(box):
  """Odd sides, odd offsets, a box smaller than the clip: averaging each plane, then
  converting, equals converting each pixel (chroma repeated over its 2 x 2 luma pixels) and
  averaging."""
  h, w = 15, 21
  rng = np.random.default_rng(sum(box))
  flat = rng.integers(16, 236, yuv.Yuv420.frame_bytes(w, h), np.uint8)
  frame = yuv.Yuv420.from_flat(flat, w, h, 'bt709')
  up = lambda c: c.repeat(2, 0).repeat(2, 1)[:h, :w].astype(np.float64)
  rgb = yuv.to_rgb(frame.y.astype(np.float64), up(frame.u), up(frame.v), 'bt709')
  resize = crop.CropResize(box, 6)
  top, left, bh, bw = box
  part = rgb[top:top + bh, left:left + bw]
  want = resize.cols @ (resize.rows @ part.reshape(bh, -1)).reshape(6, bw, 3)
  np.testing.assert_allclose(resize(frame), want, atol=2e-3)
  assert frame.shape == (h, w, 3) and frame.nbytes == flat.nbytes


def test_planes_of_a_video_match_ffmpegs_rgb(tmp_path, monkeypatch):
  """The same video's crops from its planes and from ffmpeg's RGB differ by ffmpeg's
  rounding (about a grey level, the same in every frame), not by a colour matrix; a
  full-range video still comes as RGB, and so does a small one unless told otherwise."""
  n, hw = 12, (48, 64)
  frames = files.face_frames(n, hw=hw, drawn_face=True)
  tv = files.write_video(tmp_path / 'tv.mp4', frames)
  full = files.rewrite_video(tv, tmp_path / 'pc.mp4', '-pix_fmt', 'yuvj420p', '-c:v', 'libx264')
  assert all(isinstance(f, np.ndarray) for f in video_io.iter_frames(tv, planes=True))
  monkeypatch.setattr(video_io, 'PLANES_MIN_PIXELS', 0)
  planes = list(video_io.iter_frames(tv, planes=True))
  rgb = list(video_io.iter_frames(tv))
  assert all(isinstance(f, yuv.Yuv420) and f.matrix == 'bt601' for f in planes)
  resize = crop.CropResize(crop.center_box(*hw, 0.7), 8)
  diff = np.stack([resize(p) - resize(r) for p, r in zip(planes, rgb)])
  assert len(diff) == n and np.abs(diff).max() < 3.0
  assert diff.mean((1, 2)).std(0).max() < 0.1  # a constant offset, not frame-to-frame noise
  np.testing.assert_allclose(planes[0].rgb(), rgb[0], atol=12)  # the detector's colour frame
  assert all(isinstance(f, np.ndarray) for f in video_io.iter_frames(full, planes=True))


def test_ffmpeg_starts_once_where_a_video_comes_as_the_last_one_came(tmp_path, monkeypatch):
  """A video asked for planes that stays on ffmpeg's pipe (here: every video; a rotated one
  in use) is started as the last one came, and again only where that was wrong: the frames
  are those of starting it the right way at once."""
  monkeypatch.setattr(in_process, 'open_planes', lambda *a, **k: None)
  monkeypatch.setattr(video_io, 'PLANES_MIN_PIXELS', 48 * 64)
  monkeypatch.setattr(video_io, '_last_came_as_planes', [False])
  large = files.write_video(tmp_path / 'large.mp4', files.face_frames(6, hw=(48, 64)))
  small = files.write_video(tmp_path / 'small.mp4', files.face_frames(6, hw=(32, 32)))
  start, starts = video_io._start, []
  monkeypatch.setattr(video_io, '_start', lambda *a, **k: starts.append(k) or start(*a, **k))

  def frames(video):
    starts.clear()
    return list(video_io.iter_frames(video, planes=True)), len(starts)

  first, n_first = frames(large)
  again, n_again = frames(large)
  assert (n_first, n_again) == (2, 1)  # RGB first (as the last came), then the planes
  assert all(isinstance(f, yuv.Yuv420) for f in first + again)
  for a, b in zip(first, again):
    for p, q in zip((a.y, a.u, a.v), (b.y, b.u, b.v)):
      np.testing.assert_array_equal(p, q)
  rgb, n_rgb = frames(small)  # planes first, as the last came: wrong, so RGB
  assert n_rgb == 2 and all(isinstance(f, np.ndarray) for f in rgb)
  assert frames(small)[1] == 1


def test_planes_decoded_in_this_process_are_ffmpegs_bytes(tmp_path, monkeypatch):
  """`in_process` against ffmpeg's pipe at one thread each: the same frames to the byte, of an
  intact video and of one with bytes zeroed mid-stream (a packet the decoder refuses is
  skipped, as ffmpeg's command line skips it); a rotated or flipped video stays on the pipe,
  turned; a
  stream whose frames change size part way goes on from the pipe, which scales them back."""
  video = files.write_video(tmp_path / 'a.mp4', files.face_frames(30, hw=(48, 64),
                                                                  drawn_face=True))
  data = bytearray(video.read_bytes())
  for start in (int(len(data) * frac) for frac in (0.45, 0.5, 0.55)):
    data[start:start + 64] = bytes(64)
  damaged = tmp_path / 'damaged.mp4'
  damaged.write_bytes(bytes(data))
  rotated = files.rewrite_video(video, tmp_path / 'rotated.mp4', '-c', 'copy',
                                inputs=('-display_rotation', '180'))
  flipped = files.rewrite_video(video, tmp_path / 'flipped.mp4', '-c', 'copy',
                                inputs=('-display_vflip',))  # PyAV's rotation reads 0

  def piped(path):
    reader = imageio_ffmpeg.read_frames(str(path), pix_fmt='yuv420p', bits_per_pixel=12,
                                        input_params=['-threads', '1'],
                                        output_params=['-fps_mode', 'passthrough'])
    next(reader)
    return [np.frombuffer(raw, np.uint8) for raw in reader]

  def not_piped():
    raise AssertionError('the pipe was not to be started')

  packed = lambda planes: np.concatenate([p.reshape(-1) for p in planes])  # ffmpeg's layout

  counts = []
  for path in (video, damaged):
    want, got = piped(path), list(in_process.open_planes(path, (64, 48), 1, not_piped))
    assert len(got) == len(want) and all(np.array_equal(packed(g), w) for g, w in zip(got, want))
    counts.append(len(got))
  assert counts[0] == 30 and counts[1] < 30  # the damage cost frames, and both skipped them
  for turned_file in (rotated, flipped):
    assert in_process.open_planes(turned_file, (64, 48), 1, not_piped) is None
  monkeypatch.setattr(video_io, 'PLANES_MIN_PIXELS', 0)
  upright = list(video_io.iter_frames(video, planes=True))
  turned = list(video_io.iter_frames(rotated, planes=True))
  assert len(turned) == 30 and all(isinstance(f, yuv.Yuv420) for f in turned)
  np.testing.assert_array_equal(turned[0].y, upright[0].y[::-1, ::-1])
  np.testing.assert_array_equal(next(video_io.iter_frames(flipped, planes=True)).y,
                                upright[0].y[::-1])
  larger = files.write_video(tmp_path / 'b.mp4', files.face_frames(30, hw=(64, 80), seed=1))
  parts = [files.rewrite_video(v, tmp_path / f'{v.stem}.ts', '-c', 'copy', '-bsf:v',
                               'h264_mp4toannexb') for v in (video, larger)]
  resized = tmp_path / 'resized.ts'  # MPEG-TS: two streams end to end are one stream
  resized.write_bytes(b''.join(p.read_bytes() for p in parts))
  frames = list(video_io.iter_frames(resized, planes=True))
  want = piped(resized)
  assert len(frames) == len(want) == 60 and {f.shape for f in frames} == {(48, 64, 3)}
  assert all(np.array_equal(packed((f.y, f.u, f.v)), w) for f, w in zip(frames, want))


def test_without_pyav_the_planes_come_through_ffmpegs_pipe(tmp_path, monkeypatch):
  """A Python without PyAV (an image installed with no dependencies) still extracts: the
  planes then come through ffmpeg's pipe, the same bytes."""
  video = files.write_video(tmp_path / 'a.mp4', files.face_frames(10, hw=(48, 64),
                                                                  drawn_face=True))
  monkeypatch.setattr(video_io, 'PLANES_MIN_PIXELS', 0)
  here = list(video_io.iter_frames(video, planes=True))
  monkeypatch.setitem(sys.modules, 'av', None)  # `import av` raises ImportError
  assert in_process.open_planes(video, (64, 48), 1, piped=list) is None
  piped = list(video_io.iter_frames(video, planes=True))
  assert len(piped) == len(here) == 10
  for a, b in zip(piped, here):
    for plane in ('y', 'u', 'v'):
      np.testing.assert_array_equal(getattr(a, plane), getattr(b, plane))
