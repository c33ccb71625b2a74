"""Files -> extraction -> clip store -> grain batches (the generator: test_generator.py)."""

import os
import subprocess
import sys

import numpy as np
import pytest

from hrjax.data import clip_store, crop, extract, pipeline, regions, resample
from hrjax.errors import InputError


def test_store_is_subject_disjoint_and_shaped(tiny_data):
  cfg, store = tiny_data
  header = clip_store.read_header(store)
  seen = {}
  for split in clip_store.SPLITS:
    s = clip_store.open_split(store, split)
    assert s.video.shape[1:] == (32, 16, 16, 3) and s.video.dtype == np.uint8
    assert s.heart.shape[1:] == (32, 2) and s.rr.shape[1:] == (2,)
    assert len(s) == header['splits'][split] > 0
    for subject in set(s.subjects):
      assert seen.setdefault(subject, split) == split, f'subject {subject} in two splits'
  assert len(header['fingerprint']) == 16 and header['settings']['clip_frames'] == 32


def test_rows_read_past_the_map_equal_the_mapped_rows(tiny_data, tmp_path):
  _, store = tiny_data
  video = clip_store.open_split(store, 'train').video
  assert isinstance(video, np.memmap)
  for i in (0, len(video) // 2, len(video) - 1):
    row = clip_store.read_row(video, i)
    assert not isinstance(row, np.memmap) and row.flags.writeable
    np.testing.assert_array_equal(row, video[i])
  view = video[1:]  # a view of the map keeps the map's offset: read through the map instead
  np.testing.assert_array_equal(clip_store.read_row(view, 0), video[1])
  plain = np.arange(24, dtype=np.float32).reshape(4, 6)
  np.testing.assert_array_equal(clip_store.read_row(plain, 2), plain[2])


def test_extraction_failure_leaves_no_store(tmp_path):
  (tmp_path / 'raw' / 'subject1').mkdir(parents=True)
  for s in (1, 2, 3):
    (tmp_path / 'raw' / f'subject{s}').mkdir(exist_ok=True)
    (tmp_path / 'raw' / f'subject{s}' / 'vid.avi').write_bytes(b'not a video')
    (tmp_path / 'raw' / f'subject{s}' / 'ground_truth.txt').write_text('1 2\n60 60\n0 0.1\n')
  with pytest.raises(Exception, match='vid.avi'):
    extract.extract('ubfc_rppg', tmp_path / 'raw', tmp_path / 'store', extract.ExtractSettings(),
                    progress=False)
  assert sorted(p.name for p in tmp_path.iterdir()) == ['raw']


def test_extraction_in_worker_processes_writes_the_serial_store(tiny_data, tmp_path):
  """Two worker processes give the store one process gives: the same clips in the same
  order, the same rows; a broken recording is skipped (with skip_bad) or named (without)
  the same way, and a failed parallel extraction leaves no store."""
  import shutil
  cfg, _ = tiny_data
  raw = tmp_path / 'raw'
  shutil.copytree(cfg.data.root, raw)
  (raw / 'subject3' / 'vid.mp4').write_bytes(b'not a video')
  settings = extract.ExtractSettings.from_config(cfg.data)
  summaries = [extract.extract('ubfc_rppg', raw, tmp_path / f'store{n}', settings,
                               skip_bad=True, progress=False, workers=n) for n in (1, 2)]
  assert summaries[0]['skipped'] == summaries[1]['skipped'] != []
  assert 'subject3' in summaries[1]['skipped'][0]['file']
  assert summaries[0]['taken'] == summaries[1]['taken']
  for split in ('train', 'val', 'test'):
    one, two = (tmp_path / f'store{n}' / split for n in (1, 2))
    for name in ('video.npy', 'heart.npy', 'rr.npy', 'clips.jsonl'):
      assert (one / name).read_bytes() == (two / name).read_bytes(), (split, name)
  with pytest.raises(InputError, match='subject3.vid.mp4'):
    extract.extract('ubfc_rppg', raw, tmp_path / 'store3', settings, progress=False, workers=2)
  assert not any(p.name.startswith('store3') for p in tmp_path.iterdir())


def test_splits_are_seeded_and_cover_everyone():
  subjects = [str(i) for i in range(20)]
  a = extract.assign_splits(subjects, (0.7, 0.1, 0.2), seed=0)
  assert a == extract.assign_splits(subjects, (0.7, 0.1, 0.2), seed=0)
  assert a != extract.assign_splits(subjects, (0.7, 0.1, 0.2), seed=1)
  counts = {s: list(a.values()).count(s) for s in ('train', 'val', 'test')}
  assert counts == {'train': 14, 'val': 2, 'test': 4}
  assert set(extract.assign_splits(subjects[:4], (0, 0, 1), 0).values()) == {'test'}
  with pytest.raises(ValueError, match='subject-disjointly'):
    extract.assign_splits(subjects[:2], (0.7, 0.1, 0.2), 0)


def test_batches_hold_distinct_subjects_and_are_reproducible(tiny_data):
  cfg, store = tiny_data
  batches = pipeline.SubjectBatches(store, 'train', 6, seed=3, augment=True)
  subjects = clip_store.open_split(store, 'train').subjects
  b = batches(5)
  assert len(set(subjects[b['clip']])) == 6
  np.testing.assert_array_equal(b['video'], batches(5)['video'])
  assert not np.array_equal(b['clip'], batches(6)['clip'])


def test_the_steps_flip_and_shift_are_the_loaders_draws_made_as_numpy_would(tiny_data):
  """The loader draws each clip's flip and shift and sends them with the untouched clip;
  the train step makes them: exactly `np.roll` of the reversed clip, as the loader made
  them before (batches and training unchanged)."""
  from hrjax.training import augment
  clips = np.random.default_rng(0).integers(0, 256, (4, 5, 7, 9, 3)).astype(np.uint8)
  shifts = np.array([[-2, 2], [0, 0], [1, -1], [2, -2]], np.int32)
  flips = np.array([True, False, False, True])
  made = np.asarray(augment.flip_and_shift(clips, flips, shifts))
  for clip, flip, shift, got in zip(clips, flips, shifts, made):
    np.testing.assert_array_equal(got, np.roll(clip[:, :, ::-1] if flip else clip,
                                               tuple(shift), axis=(1, 2)))
  # the loader: the stored clip itself, with the draws beside it
  _, store = tiny_data
  batch = pipeline.SubjectBatches(store, 'train', 6, seed=3, augment=True)(3)
  stored = clip_store.open_split(store, 'train').video[batch['clip']]
  np.testing.assert_array_equal(batch['video'], stored)
  assert batch['flip'].shape == (6,) and batch['shift'].shape == (6, 2)


def test_colour_mix_changes_only_each_clips_colours(tiny_data):
  _, store = tiny_data
  plain = pipeline.SubjectBatches(store, 'train', 6, seed=3, augment=True)
  mixed = pipeline.SubjectBatches(store, 'train', 6, seed=3, augment=True, colour_mix=0.2)
  a, b = plain(2), mixed(2)
  np.testing.assert_array_equal(a['clip'], b['clip'])  # the same plan, flips and shifts
  np.testing.assert_array_equal(a['heart'], b['heart'])
  assert a['video'].shape == b['video'].shape and b['video'].dtype == np.uint8
  for i in range(6):
    x = a['video'][i].reshape(-1, 3).astype(np.float64)
    y = b['video'][i].reshape(-1, 3).astype(np.float64)
    inside = (y > 0).all(1) & (y < 255).all(1)  # not clipped
    m, *_ = np.linalg.lstsq(x[inside], y[inside], rcond=None)  # y = x @ m
    np.testing.assert_allclose(x[inside] @ m, y[inside], atol=0.75)  # a linear map, rounded
    assert 0.02 < np.abs(m - np.eye(3)).max() < 1.5  # not the identity
  matrices = pipeline.colour_matrices(np.random.default_rng(0), 500, 0.2)
  gains = matrices.sum(-1)  # what a grey pixel's channels are multiplied by: white balance
  assert 0.15 < np.log(gains).std() < 0.25 and abs(np.log(gains).mean()) < 0.05
  crosstalk = (matrices / gains[..., None])[:, 0, 1]
  assert 0.07 < crosstalk.std() < 0.13 and abs(crosstalk.mean()) < 0.02  # sd strength / 2

def test_mixed_batches_take_each_stores_share_and_leave_out_the_held_out(tiny_data):
  _, store = tiny_data
  test = clip_store.open_split(store, 'test')
  held_out = test.subjects[0]
  mix = pipeline.Source(store, 'test', 2, exclude=(held_out,))
  batches = pipeline.SubjectBatches(store, 'train', 6, seed=3, augment=False, mix=(mix,))
  plain = pipeline.SubjectBatches(store, 'train', 4, seed=3, augment=False)
  for k in range(5):
    picks, _ = batches.plan(k)
    assert [p[0] for p in picks] == [0, 0, 0, 0, 1, 1]
    # The main store's draws are the plan of a batch of 4 from it alone (same rng stream).
    assert [c for _, c in picks[:4]] == [c for _, c in plain.plan(k)[0]]
    mixed = [c for src, c in picks if src == 1]
    assert len(set(test.subjects[mixed])) == 2 and held_out not in test.subjects[mixed]
    b = batches(k)
    np.testing.assert_array_equal(b['video'][4:], test.video[mixed])
  with pytest.raises(ValueError, match='once .* left out'):
    pipeline.Source(store, 'test', len(set(test.subjects)), exclude=(held_out,))


def test_grain_iterator_state_round_trip(tiny_data):
  _, store = tiny_data
  batches = pipeline.SubjectBatches(store, 'train', 4, seed=0, augment=False)
  it = pipeline.train_iterator(batches, 10)
  next(it), next(it)
  state = it.get_state()
  third = next(it)
  it2 = pipeline.train_iterator(batches, 10)
  it2.set_state(state)
  np.testing.assert_array_equal(next(it2)['clip'], third['clip'])


def test_area_resize_and_time_resampling():
  m = crop.area_matrix(6, 3)
  np.testing.assert_allclose(m.sum(1), 1)
  out = list(resample.resample_in_time([np.array([0.0]), np.array([2.0])], [0.0, 0.2], 10))
  assert [round(t, 6) for t, _ in out] == [0.0, 0.1, 0.2]
  np.testing.assert_allclose([f[0] for _, f in out], [0, 1, 2])
  on_grid = list(resample.resample_in_time([np.array([float(i)]) for i in range(4)],
                                         [i / 10 for i in range(4)], 10))
  np.testing.assert_allclose([f[0] for _, f in on_grid], [0, 1, 2, 3])
  # crop and area resize: each output pixel the mean of its 2 x 3 cell, per channel
  frame = np.random.default_rng(0).integers(0, 255, (9, 10, 3)).astype(np.uint8)
  got = crop.CropResize((1, 1, 4, 6), 2)(frame)
  cell = frame[1:5, 1:7].astype(np.float64).reshape(2, 2, 2, 3, 3).mean(axis=(1, 3))
  np.testing.assert_allclose(got, cell, rtol=1e-5)


def test_roi_mean_hr_layout(tmp_path):
  """Region videos + a mean-rate CSV with a BOM, padded header cells and a subject
  without videos, as in bias-eval-rppg's ground_truth.csv."""
  from hrjax.data import adapters, video_io
  root = tmp_path / 'roi'
  root.mkdir()
  (root / 'ground_truth.csv').write_text(
      '\ufeffSubject ,Heart_Rate(BPM) \nvideo1,85.4\nvideo2,70.0\nvideo5,66.0\nvideo9,77.0\n',
      encoding='utf-8')
  rng = np.random.default_rng(0)
  for name in ('video1_forehead', 'video1_leftcheek', 'video2_leftcheek', 'video9_forehead'):
    video_io.write_video(root / f'{name}.avi', rng.integers(90, 110, (40, 16, 16, 3)), 15.0, 10)
  recs = adapters.find_recordings('roi_mean_hr', root)
  assert [(r.subject, r.recording) for r in recs] == [
      ('1', 'video1_forehead'), ('1', 'video1_leftcheek'), ('2', 'video2_leftcheek'),
      ('9', 'video9_forehead')]
  settings = extract.ExtractSettings(clip_frames=16, size=8, crop='none', train_stride=16,
                                     eval_stride=16)
  extract.extract('roi_mean_hr', root, tmp_path / 'store', settings, progress=False)
  rows, hr = [], []
  for split in clip_store.SPLITS:
    s = clip_store.open_split(tmp_path / 'store', split)
    rows += s.rows
    hr += list(s.heart[:, :, 1].mean(1))
  assert {r['subject'] for r in rows} == {'1', '2', '9'}
  assert not any(r['has_waveform'] for r in rows)
  assert sorted({round(float(h), 1) for h in hr}) == [70.0, 77.0, 85.4]
  # 40 frames at 15 fps resampled to 30 fps: 79 frames, 4 clips of 16 per video.
  assert len(rows) == 4 * 4


def test_rate_table_errors_name_the_line(tmp_path):
  from hrjax.data import adapters
  from hrjax.errors import InputError
  bad = tmp_path / 'rates.csv'
  bad.write_text('Subject,HR\nvideo1,fast\n')
  with pytest.raises(InputError, match='line 2'):
    adapters.read_rate_table(bad)


def test_region_maps_travel_into_the_store(tiny_data):
  """Extraction crops each recording's region map as it crops the frames: one map per clip,
  the generator's `regions.npy` under the centre crop, and saliency sums over it."""
  from pathlib import Path

  from hrjax.evaluation import saliency
  cfg, store = tiny_data
  assert clip_store.read_header(store)['region_names'] == list(regions.REGION_NAMES)
  split = clip_store.open_split(store, 'test')
  assert split.regions.shape == (len(split), 16, 16, len(regions.REGION_NAMES))
  np.testing.assert_allclose(np.asarray(split.regions, np.float32).sum(-1), 1, atol=5e-3)
  row = split.rows[0]
  occupancy = np.load(Path(row['video']).parent / regions.REGIONS_FILE).astype(np.float32)
  box = crop.center_box(*occupancy.shape[:2], cfg.data.crop_fraction)
  np.testing.assert_allclose(split.regions[0], crop.CropResize(box, 16)(occupancy), atol=2e-3)
  net = np.random.default_rng(0).normal(size=(3, 16, 16))
  shares = saliency.region_shares(net, [np.asarray(split.regions[i], np.float32)
                                        for i in range(3)])
  assert set(shares) == set(regions.SUMMARY)
  assert sum(v['area'] for v in shares.values()) == pytest.approx(1, abs=5e-3)
  assert sum(v['score_share'] for v in shares.values()) == pytest.approx(1, abs=1e-2)


KILLED_WRITER = '''
import sys, time
from hrjax.data import clip_store
w = clip_store.StoreWriter(sys.argv[1], clip_frames=4, size=2, channels=2, header={})
w.__enter__()
print('writing', flush=True)
time.sleep(60)
'''


def test_a_store_write_killed_leaves_a_temporary_folder_the_next_write_removes(tmp_path):
  """SIGKILL mid-write: no store that looks complete, only `STORE.tmp-PID`; the next write
  removes it. A write that fails leaves nothing at all."""
  import sys
  store = tmp_path / 'store'
  proc = subprocess.Popen([sys.executable, '-c', KILLED_WRITER, str(store)],
                          stdout=subprocess.PIPE, text=True)
  assert proc.stdout.readline().strip() == 'writing'
  proc.kill()
  proc.wait()
  assert not store.exists() and [p.name for p in tmp_path.iterdir()] == [
      f'store.tmp-{proc.pid}']
  shape = dict(clip_frames=4, size=2, channels=2, header={})
  with pytest.raises(RuntimeError, match='disk'):
    with clip_store.StoreWriter(store, **shape):
      raise RuntimeError('disk trouble')
  assert list(tmp_path.iterdir()) == []  # the killed write's folder gone, the failed one too
  with clip_store.StoreWriter(store, **shape):
    pass
  assert [p.name for p in tmp_path.iterdir()] == ['store']
  assert clip_store.read_header(store)['splits'] == {'train': 0, 'val': 0, 'test': 0}


class _FullDisk:
  """A file on a full disk: every write fails as the kernel says (no file name)."""

  def write(self, data):
    import errno
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

  def seek(self, offset):
    pass

  def close(self):
    pass


def test_a_full_disk_stops_a_store_write_naming_the_file_and_leaves_nothing(tmp_path, capsys):
  from hrjax import cli
  store = tmp_path / 'store'
  with pytest.raises(SystemExit) as stopped:
    with cli.user_errors('extract'):
      with clip_store.StoreWriter(store, clip_frames=4, size=2, channels=2, header={}) as w:
        video = w.splits['train'].video
        video.file.close()
        video.file = _FullDisk()
        video.append(np.zeros((1, 4, 2, 2, 3), np.uint8))
  assert stopped.value.code == 1
  err = capsys.readouterr().err
  assert err.startswith('extract: error: ') and 'store.tmp-' in err
  assert err.strip().endswith('train/video.npy: No space left on device')
  assert list(tmp_path.iterdir()) == []


def test_a_read_only_disk_stops_extraction_naming_the_folder(tmp_path):
  """The store's folder on a read-only tmpfs (a mount namespace of the test's own): one line
  naming the path it could not write, exit 1, nothing there."""
  from pathlib import Path

  from tests import ingest_files as files
  files.write_ubfc(tmp_path / 'raw' / 'subject1', files.beats_for(5, 0), 150)
  ro = tmp_path / 'ro'
  ro.mkdir()
  extract_py = Path(__file__).resolve().parents[1] / 'scripts' / 'extract.py'
  proc = files.with_tmpfs(
      ro, 'ro', f'{sys.executable} {extract_py} --dataset ubfc_rppg --root {tmp_path / "raw"} '
      f'--store {ro / "store"} --crop none --progress=false --clip_frames=32 '
      f'--split_fractions=0,0,1; echo "rc=$?"; ls -A {ro}', timeout=300)
  assert proc.returncode == 0, proc.stderr[-2000:]
  last = proc.stderr.strip().splitlines()[-1]
  assert last.startswith(f'extract: error: {ro}/store') and last.endswith(
      'Read-only file system'), last
  assert proc.stdout.strip().splitlines() == ['rc=1'], proc.stdout  # and nothing in the folder
