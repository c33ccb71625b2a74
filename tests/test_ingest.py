"""Real-recording ingest: codecs, ECG/PPG/rate files, layouts, alignment, bad input.

Every file is written here (tests/ingest_files.py); nothing is read from outside.
"""

import dataclasses
import shutil

import numpy as np
import pytest
import threadpoolctl
from scipy import signal

from hrjax.data import adapters, clip_store, crop, extract, heart_files, video_io
from hrjax.errors import InputError
from tests import ingest_files as files

SETTINGS = extract.ExtractSettings(clip_frames=32, size=8, crop='none', eval_stride=32,
                                   split_fractions=(0.0, 0.0, 1.0))


def _extract(dataset, root, store, **kw):
  return extract.extract(dataset, root, store, kw.pop('settings', SETTINGS), progress=False,
                         **kw)


def _peak_offsets(split, subject: str, beats: np.ndarray, video_t0: float, channel: str):
  """Frames between each expected wave peak (R-peak + arrival, from the true beats) and the
  nearest peak of the clip's video darkening or stored pulse; clip edges left out."""
  return files.peak_offsets(split, np.array(split.subjects) == subject, beats, channel, video_t0)


def test_codecs_decode_to_the_same_frames(tmp_path):
  frames = files.face_frames(20, hw=(32, 48), beats=files.beats_for(1, 0))
  for codec, name in (('h264', 'a.mp4'), ('mpeg4', 'b.avi'), ('png', 'frames')):
    path = files.write_video(tmp_path / name, frames, codec)
    info = video_io.probe(path)
    decoded = np.stack(list(video_io.iter_frames(path)))
    assert decoded.shape == frames.shape, codec
    assert np.abs(decoded.astype(float) - frames).mean() < 3.0, codec
    assert (info.width, info.height, info.frames) == (48, 32, 20)
    assert info.fps == (0.0 if codec == 'png' else 30.0)


def test_frames_are_cropped_with_numpy_blas_on_one_thread(tmp_path, monkeypatch):
  """While a video decodes in this process, ffmpeg and the face detector hold the cores:
  OpenBLAS's spinning threads must not take them back (`worker_pool.one_blas_thread`)."""
  path = files.write_video(tmp_path / 'a.mp4', files.face_frames(6, hw=(32, 48),
                                                                 beats=files.beats_for(1, 0)))
  loaded = threadpoolctl.ThreadpoolController().select(user_api='blas')  # numpy's among them
  blas_threads = lambda: max(i['num_threads'] for i in loaded.info())
  seen, cut = [], crop.CropResize.__call__
  monkeypatch.setattr(crop.CropResize, '__call__',
                      lambda self, frame: seen.append(blas_threads()) or cut(self, frame))
  with threadpoolctl.threadpool_limits(2, user_api='blas'):
    extract.decode_video(path, SETTINGS)
    assert blas_threads() == 2  # given back afterwards
  assert len(seen) >= 6 and set(seen) == {1}


@pytest.mark.parametrize('suffix', ['.bdf', '.edf'])
def test_ecg_r_peaks_inside_the_trigger_window(tmp_path, suffix):
  beats = files.beats_for(20, 3)
  path = files.write_ecg(tmp_path / f'rec{suffix}', beats, 20.0, triggers={'11': 4.0, '12': 16.0})
  channel = 'EXG1-EXG2' if suffix == '.bdf' else None  # the EDF's one channel is named ECG
  series = heart_files.read_ecg(path, channel, start_code='11', end_code='12')
  expected = beats[(beats >= 4.0) & (beats <= 16.0)] - 4.0
  assert len(series.beats) == len(expected)
  assert np.abs(series.beats - expected).max() < 0.01  # within 10 ms of the true R-peaks
  assert abs(np.median(series.hr) - 72) < 6 and series.pulse is not None


def test_ecg_errors_name_the_file_and_what_is_there(tmp_path):
  path = files.write_ecg(tmp_path / 'rec.bdf', files.beats_for(10, 0), 10.0, triggers={'7': 1.0})
  with pytest.raises(InputError, match=r'rec.bdf: no channel .ECG.; channels present: EXG1, '
                     r'EXG2, Status'):
    heart_files.read_ecg(path, 'ECG')
  with pytest.raises(InputError, match=r"no trigger '9'; codes present: 7"):
    heart_files.read_ecg(path, 'EXG1-EXG2', start_code='9')
  with pytest.raises(InputError, match='cannot tell which channel holds the ECG'):
    heart_files.read_ecg(path)
  (tmp_path / 'bad.edf').write_bytes(b'0       not an edf header')
  with pytest.raises(InputError, match='bad.edf: not a readable EDF/BDF file'):
    heart_files.read_ecg(tmp_path / 'bad.edf')
  events = files.write_annotations_edf(tmp_path / 'events.edf', {'start': 1.0, 'end': 5.0})
  with pytest.raises(InputError, match='events.edf: no signal channels, only 2 annotations'):
    heart_files.read_ecg(events)


def test_manifest_clips_line_up_with_ecg_ppg_and_offsets(tmp_path):
  """Video brightness dips on every beat; the stored pulse must peak on the same frame."""
  n = 240  # 8 s of video
  beats_a = files.beats_for(14, 1)  # ECG recording starts 3 s before the video (trigger 5)
  files.write_video(tmp_path / 'a.mp4', files.face_frames(n, (16, 16), 3.0, beats_a))
  files.write_ecg(tmp_path / 'a.bdf', beats_a, 14.0, triggers={'5': 3.0})
  beats_b = files.beats_for(10, 2)  # PPG starts 1 s before the video: offset 1 s
  files.write_video(tmp_path / 'b.avi', files.face_frames(n, (16, 16), 1.0, beats_b), 'mpeg4')
  files.write_ppg_csv(tmp_path / 'b.csv', beats_b, 10.0)
  files.write_video(tmp_path / 'c.mp4', files.face_frames(n, (16, 16)))
  (tmp_path / 'manifest.csv').write_text(
      'subject,video,heart,kind,offset_s,channel,start_code\n'
      'p1,a.mp4,a.bdf,ecg,,EXG1-EXG2,5\n'
      'p2,b.avi,b.csv,ppg,1.0,,\n'
      'p3,c.mp4,66,rate,,,\n')
  summary = _extract('manifest', tmp_path / 'manifest.csv', tmp_path / 'store')
  assert [r['clips'] for r in summary['taken']] == [7, 7, 7] and not summary['skipped']
  split = clip_store.open_split(tmp_path / 'store', 'test')
  for subject, beats, t0 in (('p1', beats_a, 3.0), ('p2', beats_b, 1.0)):
    for channel in ('video', 'pulse'):  # the decoded frames and the stored heart
      offsets = _peak_offsets(split, subject, beats, t0, channel)
      assert len(offsets) >= 5 and offsets.max() <= 1.0, (subject, channel, offsets)
  bpm = {s: r['mean_bpm'] for s, r in zip(split.subjects, split.rows)}
  assert abs(bpm['p1'] - 72) < 8 and abs(bpm['p2'] - 72) < 8 and bpm['p3'] == 66
  assert not split.heart[np.array(split.subjects) == 'p3', :, 0].any()  # rate only: no pulse
  # Overriding p2's offset with 0 s shifts its pulse by 30 frames: this check can fail.
  (tmp_path / 'offsets.csv').write_text('recording,offset_s\nb,0.0\n')
  _extract('manifest', tmp_path, tmp_path / 'store2',
           offsets=adapters.read_offsets(tmp_path / 'offsets.csv'))
  shifted = clip_store.open_split(tmp_path / 'store2', 'test')
  assert np.mean(_peak_offsets(shifted, 'p2', beats_b, 1.0, 'pulse') <= 1) < 0.5


def test_ubfc_and_pure_layouts_align(tmp_path):
  for s in (1, 2):
    files.write_ubfc(tmp_path / 'ubfc' / f'subject{s}', files.beats_for(5, s), 150)
    files.write_pure(tmp_path / 'pure', f'0{s}-01', files.beats_for(5, s + 10), 150)
  for dataset in ('ubfc_rppg', 'pure'):
    summary = _extract(dataset, tmp_path / dataset.split('_')[0], tmp_path / f'{dataset}-store')
    assert len(summary['taken']) == 2, dataset
    split = clip_store.open_split(tmp_path / f'{dataset}-store', 'test')
    assert sorted(set(split.subjects)) == ['1', '2'] and len(split) == 8
    for s in (1, 2):
      beats = files.beats_for(5, s + (10 if dataset == 'pure' else 0))
      offsets = _peak_offsets(split, str(s), beats, 0.0, 'pulse')
      assert len(offsets) >= 3 and offsets.max() <= 1.0, (dataset, s, offsets)


def _broken_ubfc(root):
  """subject1 good; every other subject broken in one way."""
  beats = files.beats_for(5, 0)
  for s in range(1, 8):
    files.write_ubfc(root / f'subject{s}', beats, 150)
  mp4 = root / 'subject2' / 'vid.mp4'
  mp4.write_bytes(mp4.read_bytes()[:mp4.stat().st_size // 2])
  (root / 'subject3' / 'vid.mp4').write_bytes(b'')
  (root / 'subject4' / 'ground_truth.txt').unlink()
  gt = root / 'subject5' / 'ground_truth.txt'
  gt.write_text('\n'.join(' '.join(line.split()[:12]) for line in gt.read_text().splitlines()))
  gt = root / 'subject6' / 'ground_truth.txt'
  gt.write_text(gt.read_text().replace(gt.read_text().split()[20], 'nan', 1))
  lines = (root / 'subject7' / 'ground_truth.txt').read_text().splitlines()
  t = lines[2].split()
  t[50], t[51] = t[51], t[50]
  (root / 'subject7' / 'ground_truth.txt').write_text('\n'.join(lines[:2] + [' '.join(t)]))
  zero = root / 'subject8'
  zero.mkdir()
  writer = __import__('imageio_ffmpeg').write_frames(str(zero / 'vid.mp4'), (16, 16),
                                                     ffmpeg_log_level='error')
  writer.send(None)
  writer.close()
  (zero / 'ground_truth.txt').write_text((root / 'subject1' / 'ground_truth.txt').read_text())


EXPECTED_PROBLEMS = {
    'subject2': 'vid.mp4: ffmpeg cannot read it as a video (no moov atom: truncated',
    'subject3': 'vid.mp4: video file is empty (0 bytes)',
    'subject4': 'ground_truth.txt: heart file not found',
    'subject5': 'ground_truth.txt: heart signal',  # ... covers 0.4 s: less than one clip
    'subject6': 'ground_truth.txt: PPG or time line contains NaN',
    'subject7': 'ground_truth.txt: timestamps go backwards at sample 51',
    'subject8': 'vid.mp4: ffmpeg cannot read it as a video (no video stream: zero frames or '
                'audio only)',
}


def test_bad_input_is_named_skipped_on_request_and_leaves_no_store(tmp_path):
  _broken_ubfc(tmp_path / 'raw')
  with pytest.raises(InputError, match='subject2/vid.mp4: ffmpeg cannot read it'):
    _extract('ubfc_rppg', tmp_path / 'raw', tmp_path / 'store')
  assert not (tmp_path / 'store').exists()
  assert sorted(p.name for p in tmp_path.iterdir()) == ['raw']  # no temporary left either

  summary = _extract('ubfc_rppg', tmp_path / 'raw', tmp_path / 'store', skip_bad=True)
  assert [r['recording'] for r in summary['taken']] == ['subject1']
  problems = {r['recording']: f"{r['file']}: {r['problem']}" for r in summary['skipped']}
  assert sorted(problems) == sorted(EXPECTED_PROBLEMS)
  for name, expected in EXPECTED_PROBLEMS.items():
    assert expected in problems[name], (name, problems[name])
  assert 'less than one 32-frame clip' in problems['subject5']
  assert clip_store.read_header(tmp_path / 'store')['skipped'] == summary['skipped']

  with pytest.raises(InputError, match="unknown dataset layout 'ubfc'; known: ubfc_rppg"):
    adapters.find_recordings('ubfc', tmp_path / 'raw')
  with pytest.raises(InputError, match='no NN-MM session folders: not a PURE layout'):
    adapters.find_recordings('pure', tmp_path / 'raw')


def test_manifest_and_heart_file_errors(tmp_path):
  (tmp_path / 'm.csv').write_text('subject,video,heart\n1,a.mp4,a.bdf\n')
  with pytest.raises(InputError, match='m.csv: header lacks kind'):
    adapters.find_recordings('manifest', tmp_path / 'm.csv')
  (tmp_path / 'm.csv').write_text('subject,video,heart,kind\n1,a.mp4,a.bdf,eeg\n')
  with pytest.raises(InputError, match="line 2: kind 'eeg' is not one of ecg, ppg, rate"):
    adapters.find_recordings('manifest', tmp_path / 'm.csv')
  (tmp_path / 'p.csv').write_text('ppg\n1\n2\n3\n')
  with pytest.raises(InputError, match='one column of PPG values and no sample rate'):
    heart_files.read_ppg(tmp_path / 'p.csv')
  (tmp_path / 'r.csv').write_text('0,70\n10,300\n')
  with pytest.raises(InputError, match=r'r.csv: implausible heart rate 70-300 bpm'):
    heart_files.read_rate(tmp_path / 'r.csv')
  series = heart_files.read_rate('64.5')
  assert series.pulse is None and np.all(series.hr == 64.5)
  ppg = files.write_ppg_csv(tmp_path / 'ppg.csv', files.beats_for(5, 0), 5.0, fs=64.0)
  with pytest.raises(InputError, match=r'ppg.csv: the time column gives 6\d.\d+ Hz but .* 32 Hz'):
    heart_files.read_ppg(ppg, fs=32.0)
  assert heart_files.read_ppg(ppg, fs=64.0).pulse is not None
  table = np.loadtxt(ppg, delimiter=',', skiprows=1)
  np.savetxt(tmp_path / 'ms.csv', table * [1000, 1], delimiter=',')
  with pytest.raises(InputError, match='ms.csv: .*0.064 samples per second.*milliseconds'):
    heart_files.read_ppg(tmp_path / 'ms.csv')
  (tmp_path / 'two.csv').write_text('subject,video,heart,kind,recording\n'
                                    '1,a.mp4,70,rate,x\n2,./a.mp4,71,rate,y\n')
  with pytest.raises(InputError, match="two.csv: line 3: video './a.mp4' is also on line 2"):
    adapters.find_recordings('manifest', tmp_path / 'two.csv')


@pytest.mark.parametrize('encoding', ['utf-16', 'utf-16-le', 'cp1252', 'utf-8-sig'])
def test_tables_in_other_encodings_read_the_same(tmp_path, encoding):
  """Excel's and Windows tools' encodings: the manifest's accented name and a PPG table's
  numbers come out as written."""
  text = 'subject,video,heart,kind\nJosé,a.mp4,p.csv,ppg\n'
  (tmp_path / 'm.csv').write_bytes(text.encode(encoding))
  assert adapters.find_recordings('manifest', tmp_path / 'm.csv')[0].subject == 'José'
  ppg = files.write_ppg_csv(tmp_path / 'p.csv', files.beats_for(5, 0), 5.0)
  ppg.write_bytes(ppg.read_text().encode(encoding))
  assert len(heart_files.read_table(ppg)) == 5 * 64


def test_a_store_whose_sources_changed_is_refused_with_the_file_named(tmp_path):
  """Reusing a store checks its sources' fingerprints: an edited heart file or a removed
  recording stops with the file named, instead of training on stale clips."""
  from hrjax.data import prepare
  from tests.tiny import tiny_config
  for s in (1, 2, 3):
    files.write_ubfc(tmp_path / 'raw' / f'subject{s}', files.beats_for(5, s), 150)
  cfg = tiny_config(tmp_path / 'raw', tmp_path / 'store')
  cfg.synthetic.enabled, cfg.data.crop, cfg.data.split_fractions = False, 'none', (0, 0, 1)
  store = prepare.ensure_store(cfg, progress=False)
  assert prepare.ensure_store(cfg, progress=False) == store  # unchanged: reused
  gt = tmp_path / 'raw' / 'subject2' / 'ground_truth.txt'
  original = gt.read_text()
  gt.write_text(original.replace('e+01', 'e+00', 1))  # one heart rate off by 10x
  with pytest.raises(ValueError, match=r'store is stale: subject2/ground_truth.txt changed'):
    prepare.ensure_store(cfg, progress=False)
  gt.write_text(original)
  assert prepare.ensure_store(cfg, progress=False) == store
  shutil.rmtree(tmp_path / 'raw' / 'subject3')
  with pytest.raises(ValueError, match=r'subject3/ground_truth.txt is gone'):
    prepare.ensure_store(cfg, progress=False)


def test_repeated_timestamps_are_spread_and_repeats_at_the_end_continue_the_last_interval(
    tmp_path):
  """A real UBFC ground_truth.txt ends `..., 67.716, 67.716`: that must not make the file
  unusable. Repeats inside are spread between their neighbours, repeats at the end continue
  the interval before them; timestamps that go backwards still stop with the sample named."""
  t = np.arange(300) / files.FPS
  t[40] = t[39]  # a repeat inside
  t[-1] = t[-2]  # and one at the very end, as in the real file
  fixed = heart_files.repair_timestamps(t, tmp_path / 'gt.txt')
  np.testing.assert_allclose(fixed, np.arange(300) / files.FPS, atol=1e-9)
  files.write_ubfc(tmp_path / 'raw' / 'subject1', files.beats_for(5, 0), 150)
  gt = tmp_path / 'raw' / 'subject1' / 'ground_truth.txt'
  lines = gt.read_text().splitlines()
  stamps = lines[2].split()
  stamps[-1] = stamps[-2]
  gt.write_text('\n'.join(lines[:2] + [' '.join(stamps)]) + '\n')
  summary = _extract('ubfc_rppg', tmp_path / 'raw', tmp_path / 'store')
  assert [r['clips'] for r in summary['taken']] == [4]
  with pytest.raises(InputError, match='5 repeated timestamps of 50'):
    heart_files.repair_timestamps(np.repeat(np.arange(45.0), [2] * 5 + [1] * 40), tmp_path / 'x')
  back = np.arange(10.0)
  back[5] = 3.0
  with pytest.raises(InputError, match='timestamps go backwards at sample 5'):
    heart_files.repair_timestamps(back, tmp_path / 'gt.txt')


def test_the_independent_generator_writes_a_ubfc_folder_with_a_visible_aligned_pulse(tmp_path):
  from hrjax.data.independent import generate
  rates = [generate.render_recording(str(tmp_path / 'raw'), 7, s, 4.5, 30.0, 48) for s in (1, 2)]
  settings = extract.ExtractSettings(clip_frames=128, size=16, crop='center', eval_stride=128,
                                     split_fractions=(0.0, 0.0, 1.0))
  assert len(_extract('ubfc_rppg', tmp_path / 'raw', tmp_path / 'store',
                      settings=settings)['taken']) == 2
  split = clip_store.open_split(tmp_path / 'store', 'test')
  for i, rate in enumerate(rates):
    assert abs(split.rows[i]['mean_bpm'] - rate) < 6
    # Skin darkens as blood volume rises: the clip's centre green against the heart file's
    # PPG, both band-passed, anti-correlated within a few frames of lag.
    green = -np.asarray(split.video[i, :, 4:12, 4:12, 1], float).mean((1, 2))
    b, a = signal.butter(2, [0.7, 3.5], btype='band', fs=30.0)
    g, h = signal.filtfilt(b, a, green), signal.filtfilt(b, a, split.heart[i, :, 0])
    best = max(np.corrcoef(np.roll(g, k)[8:-8], h[8:-8])[0, 1] for k in range(-5, 6))
    assert best > 0.3, (i, best)


def test_a_heart_clock_that_starts_late_maps_onto_the_video_the_same_in_predict_and_extraction(
    tmp_path):
  """Real UBFC-rPPG files (subject4: 23.575 s) stamp the first frame late. Prediction reads
  the heart file on its own (no frame times) and must align it as extraction does; a PPG
  table whose time column starts late is likewise taken as started with the video."""
  beats = files.beats_for(5, 3)
  folder = tmp_path / 'raw' / 'subject1'
  files.write_ubfc(folder, beats, 150)
  gt = folder / 'ground_truth.txt'
  lines = gt.read_text().splitlines()
  late = np.array(lines[2].split(), float) + 23.575
  gt.write_text('\n'.join(lines[:2] + [' '.join(f'{x:.6f}' for x in late)]) + '\n')
  _extract('ubfc_rppg', tmp_path / 'raw', tmp_path / 'store',
           settings=dataclasses.replace(SETTINGS, split_fractions=(0.0, 0.0, 1.0)))
  stored = clip_store.open_split(tmp_path / 'store', 'test')
  series, kind = heart_files.read_heart(str(gt))
  assert kind == 'ubfc' and series.t[0] == 0.0
  clips = extract.video_clips(folder / 'vid.mp4', series, gt, SETTINGS)
  assert len(clips) == len(stored) >= 1  # the whole video covered, as in the store
  for clip, row in zip(clips, stored.rows):  # the store keeps the file's own clock
    assert clip.row['start_s'] == pytest.approx(row['start_s'] - 23.575, abs=1e-3)
  np.testing.assert_allclose(np.stack([c.heart for c in clips]), stored.heart, atol=1e-3)

  ppg = np.array(lines[0].split(), float)
  (tmp_path / 'p.csv').write_text('\n'.join(f'{t + 1000.0:.4f},{v:.6f}'
                                           for t, v in zip(late, ppg)))
  table = heart_files.read_ppg(tmp_path / 'p.csv')
  np.testing.assert_allclose(table.t, series.t, atol=1e-3)


def test_phone_videos_variable_rate_rotation_audio_and_audio_only(tmp_path, caplog):
  """A variable frame rate takes its frame times from the container (each frame's
  brightness is its index, so a frame shown at the wrong time is seen); a rotation in the
  display matrix turns the frames; an audio stream beside the video is ignored; a file of
  audio only, and a video shorter than a clip, are named."""
  n = 60
  frames = np.repeat((np.arange(n) * 4).astype(np.uint8)[:, None, None, None], 3, -1)
  src = files.write_video(tmp_path / 'src.mp4', np.broadcast_to(frames, (n, 32, 48, 3)).copy())
  vfr = files.variable_rate_video(src, tmp_path / 'vfr.mp4', n_fast=30)
  decoded = extract.decode_video(vfr, SETTINGS)
  assert 'variable frame rate' in caplog.text
  assert abs(decoded.times[-1] - (1 + 29 / 15)) < 0.05  # 30 frames in 1 s, 30 in 2 s
  level = decoded.video.astype(float).mean((1, 2, 3))
  shown = np.where(decoded.times < 1, decoded.times * 30, 30 + (decoded.times - 1) * 15)
  np.testing.assert_allclose(level, np.floor(shown + 1e-6) * 4, atol=6)

  rotated = files.rewrite_video(src, tmp_path / 'rot.mp4', '-c', 'copy',
                                inputs=('-display_rotation', '90'))
  assert (video_io.probe(rotated).width, video_io.probe(rotated).height) == (32, 48)
  assert next(video_io.iter_frames(rotated)).shape == (48, 32, 3)
  with_audio = files.rewrite_video(src, tmp_path / 'av.mp4', '-c:v', 'copy', '-c:a', 'aac',
                                   '-shortest', inputs=('-f', 'lavfi', '-i', 'sine=d=2'))
  assert len(list(video_io.iter_frames(with_audio))) == n
  audio = files.rewrite_video(with_audio, tmp_path / 'audio.m4a', '-vn', '-c:a', 'copy')
  with pytest.raises(InputError, match='audio.m4a: .*no video stream'):
    video_io.probe(audio)
  one = files.write_video(tmp_path / 'one.mp4', frames[:1].repeat(32, 1).repeat(48, 2))
  with pytest.raises(InputError, match=r'one.mp4: 0.03 s of video, shorter than one 32-frame'):
    extract.video_clips(one, heart_files.read_rate('70'), 'rate', SETTINGS)
