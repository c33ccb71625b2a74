"""The public datasets' layouts (UBFC-Phys, COHFACE, MMPD, SCAMPS, iBVP,
VIPL-HR, LGI-PPGI, MAHNOB-HCI): each from a tiny folder
written here in the real layout, its clips on the heart signal within one frame, and a
broken variant that stops extraction naming the file and leaves no store."""

import numpy as np
import pytest

from hrjax.data import clip_store, extract
from hrjax.errors import InputError
from tests import ingest_files as files

SETTINGS = extract.ExtractSettings(clip_frames=32, size=8, crop='none', eval_stride=32,
                                   split_fractions=(0.0, 0.0, 1.0))


def _extract(dataset, root, store):
  return extract.extract(dataset, root, store, SETTINGS, progress=False)


def test_ubfc_phys_layout_aligns_and_keeps_the_task(tmp_path):
  root = tmp_path / 'ubfc-phys'
  for s, task in ((1, 'T1'), (1, 'T3'), (2, 'T2')):
    files.write_ubfc_phys(root, s, task, files.beats_for(5, 10 * s + int(task[1])), 150)
  summary = _extract('ubfc_phys', root, tmp_path / 'store')
  assert [r['recording'] for r in summary['taken']] == ['s1_T1', 's1_T3', 's2_T2']
  split = clip_store.open_split(tmp_path / 'store', 'test')
  tasks = {(r['subject'], r['recording']): r['task'] for r in split.rows}
  assert tasks == {('1', 's1_T1'): 'rest', ('1', 's1_T3'): 'arithmetic',
                   ('2', 's2_T2'): 'speech'}
  for s, task in ((1, 'T1'), (1, 'T3'), (2, 'T2')):  # each recording its own beats
    rows = np.array([r['recording'] == f's{s}_{task}' for r in split.rows])
    for channel in ('video', 'pulse'):
      offsets = files.peak_offsets(split, rows, files.beats_for(5, 10 * s + int(task[1])), channel)
      assert len(offsets) >= 3 and offsets.max() <= 1.0, (s, task, channel, offsets)
  (root / 's2' / 'bvp_s2_T2.csv').unlink()
  with pytest.raises(InputError, match='bvp_s2_T2.csv'):
    _extract('ubfc_phys', root, tmp_path / 'broken')
  assert not (tmp_path / 'broken').exists()


def test_cohface_layout_aligns_and_names_a_broken_hdf5(tmp_path):
  root = tmp_path / 'cohface'
  for s, k in ((1, 0), (1, 2), (2, 1)):
    files.write_cohface(root, s, k, files.beats_for(5, 10 * s + k), 150)
  summary = _extract('cohface', root, tmp_path / 'store')
  assert [r['recording'] for r in summary['taken']] == ['1-0', '1-2', '2-1']
  split = clip_store.open_split(tmp_path / 'store', 'test')
  assert {r['recording']: r['session'] for r in split.rows} == {'1-0': '0', '1-2': '2',
                                                                '2-1': '1'}
  for s, k in ((1, 0), (1, 2), (2, 1)):
    rows = np.array([r['recording'] == f'{s}-{k}' for r in split.rows])
    for channel in ('video', 'pulse'):
      offsets = files.peak_offsets(split, rows, files.beats_for(5, 10 * s + k), channel)
      assert len(offsets) >= 3 and offsets.max() <= 1.0, (s, k, channel, offsets)
  (root / '2' / '1' / 'data.hdf5').write_bytes(b'not hdf5 at all')
  with pytest.raises(InputError, match=r'data.hdf5: cannot read it as HDF5'):
    _extract('cohface', root, tmp_path / 'broken')
  assert not (tmp_path / 'broken').exists()


def test_mmpd_and_scamps_read_frames_and_pulse_from_matlab_files(tmp_path):
  light = dict(light='LED-low', motion='Stationary', skin_color=np.array([[5]]))
  for s, k in ((1, 0), (1, 1), (2, 0)):
    files.write_mmpd(tmp_path / 'mmpd', s, k, files.beats_for(5, 10 * s + k), 150, **light)
  for i in (1, 2):
    files.write_scamps(tmp_path / 'scamps', f'P00000{i}', files.beats_for(5, 50 + i), 150)
  expected = {'mmpd': {('1', 'p1_0'): 10, ('1', 'p1_1'): 11, ('2', 'p2_0'): 20},
              'scamps': {('P000001', 'P000001'): 51, ('P000002', 'P000002'): 52}}
  for dataset, seeds in expected.items():
    _extract(dataset, tmp_path / dataset, tmp_path / f'{dataset}-store')
    split = clip_store.open_split(tmp_path / f'{dataset}-store', 'test')
    assert {(r['subject'], r['recording']) for r in split.rows} == set(seeds)
    for (_, name), seed in seeds.items():
      rows = np.array([r['recording'] == name for r in split.rows])
      for channel in ('video', 'pulse'):
        offsets = files.peak_offsets(split, rows, files.beats_for(5, seed), channel)
        assert len(offsets) >= 3 and offsets.max() <= 1.0, (dataset, name, channel, offsets)
  mmpd = clip_store.open_split(tmp_path / 'mmpd-store', 'test').rows[0]
  assert (mmpd['light'], mmpd['motion'], mmpd['skin_color']) == ('LED-low', 'Stationary', '5')
  (tmp_path / 'mmpd' / 'subject2' / 'p2_0.mat').write_bytes(b'MATLAB 5.0 MAT-file, broken')
  with pytest.raises(InputError, match=r'p2_0.mat: cannot read it as a MATLAB file'):
    _extract('mmpd', tmp_path / 'mmpd', tmp_path / 'broken')
  assert not (tmp_path / 'broken').exists()


def test_ibvp_layout_aligns_and_names_a_missing_frame_folder(tmp_path):
  root = tmp_path / 'ibvp'
  sessions = {'p01_a': 1, 'p01_b': 2, 'p02_a': 3}
  for name, seed in sessions.items():
    files.write_ibvp(root, name, files.beats_for(5, seed), 150)
  summary = _extract('ibvp', root, tmp_path / 'store')
  assert [r['recording'] for r in summary['taken']] == list(sessions)
  split = clip_store.open_split(tmp_path / 'store', 'test')
  assert {r['recording']: r['subject'] for r in split.rows} == {'p01_a': '01', 'p01_b': '01',
                                                                'p02_a': '02'}
  for name, seed in sessions.items():
    rows = np.array([r['recording'] == name for r in split.rows])
    for channel in ('video', 'pulse'):
      offsets = files.peak_offsets(split, rows, files.beats_for(5, seed), channel)
      assert len(offsets) >= 3 and offsets.max() <= 1.0, (name, channel, offsets)
  (root / 'p02_a' / 'p02_a_rgb').rename(root / 'p02_a' / 'frames')
  with pytest.raises(InputError, match='p02_a: no p02_a_rgb folder of RGB frames'):
    _extract('ibvp', root, tmp_path / 'broken')
  assert not (tmp_path / 'broken').exists()


def test_vipl_hr_layout_reads_the_rgb_cameras_and_keeps_scenario_and_source(tmp_path):
  root = tmp_path / 'vipl'
  kept = {(1, 1, 1): 1, (1, 2, 3): 2, (2, 1, 2): 3}
  for (p, v, s), seed in kept.items():
    files.write_vipl(root, p, v, s, files.beats_for(5, seed), 150)
  files.write_vipl(root, 2, 1, 4, files.beats_for(5, 9), 150)  # near-infrared: left out
  summary = _extract('vipl_hr', root, tmp_path / 'store')
  assert [r['recording'] for r in summary['taken']] == ['p1-v1-source1', 'p1-v2-source3',
                                                         'p2-v1-source2']
  split = clip_store.open_split(tmp_path / 'store', 'test')
  assert {(r['scenario'], r['source']) for r in split.rows} == {
      ('v1', 'source1'), ('v2', 'source3'), ('v1', 'source2')}
  for (p, v, s), seed in kept.items():
    rows = np.array([r['recording'] == f'p{p}-v{v}-source{s}' for r in split.rows])
    for channel in ('video', 'pulse'):
      offsets = files.peak_offsets(split, rows, files.beats_for(5, seed), channel)
      assert len(offsets) >= 3 and offsets.max() <= 1.0, (p, v, s, channel, offsets)
  (root / 'p2' / 'v1' / 'source2' / 'wave.csv').write_text('Wave\n')
  with pytest.raises(InputError, match='wave.csv'):
    _extract('vipl_hr', root, tmp_path / 'broken')
  assert not (tmp_path / 'broken').exists()


def test_lgi_ppgi_layout_reads_the_oximeter_xml(tmp_path):
  root = tmp_path / 'lgi'
  kept = {('alex', 'resting'): 1, ('alex', 'talk'): 2, ('cpi', 'gym'): 3}
  for (name, session), seed in kept.items():
    files.write_lgi(root, name, session, files.beats_for(5, seed), 150)
  summary = _extract('lgi_ppgi', root, tmp_path / 'store')
  assert [r['recording'] for r in summary['taken']] == ['alex_resting', 'alex_talk', 'cpi_gym']
  split = clip_store.open_split(tmp_path / 'store', 'test')
  assert {(r['subject'], r['session']) for r in split.rows} == set(kept)
  for (name, session), seed in kept.items():
    rows = np.array([r['recording'] == f'{name}_{session}' for r in split.rows])
    for channel in ('video', 'pulse'):
      offsets = files.peak_offsets(split, rows, files.beats_for(5, seed), channel)
      assert len(offsets) >= 3 and offsets.max() <= 1.0, (name, session, channel, offsets)
  xml = root / 'cpi' / 'cpi_gym' / 'cms50_stream_handler.xml'
  xml.write_text(xml.read_text()[:200])
  with pytest.raises(InputError, match='cms50_stream_handler.xml: not well-formed XML'):
    _extract('lgi_ppgi', root, tmp_path / 'broken')
  assert not (tmp_path / 'broken').exists()


def test_mahnob_hci_layout_starts_the_ecg_at_the_status_trigger(tmp_path):
  root = tmp_path / 'mahnob'
  kept = {(2, 1): 1, (4, 1): 2, (10, 3): 3}  # (session, participant): seed
  xml = {2: dict(subject=1, feltEmo=4, feltArsl=6, feltVlnc=7, isStim=1),
         10: dict(subject=7, isStim=0)}  # session 10's subject by its XML; no rating there
  for (session, part), seed in kept.items():
    files.write_mahnob(root, session, part, files.beats_for(9, seed), 240,
                       video_start_s=1.0 + session / 4, xml=xml.get(session))
  (root / 'Sessions' / '12').mkdir()  # a session without files: left out with a warning
  summary = _extract('mahnob_hci', root, tmp_path / 'store')
  assert [r['recording'] for r in summary['taken']] == ['session2', 'session4', 'session10']
  split = clip_store.open_split(tmp_path / 'store', 'test')
  assert {r['recording']: r['subject'] for r in split.rows} == {
      'session2': '1', 'session4': '1', 'session10': '7'}
  rated = {(r['recording'], r.get('felt_emotion'), r.get('felt_arousal'), r.get('felt_valence'))
           for r in split.rows}
  assert rated == {('session2', 'joy', '6', '7'), ('session4', None, None, None),
                   ('session10', None, None, None)}
  for (session, _), seed in kept.items():
    rows = np.array([r['recording'] == f'session{session}' for r in split.rows])
    for channel in ('video', 'pulse'):
      offsets = files.peak_offsets(split, rows, files.beats_for(9, seed), channel)
      assert len(offsets) >= 3 and offsets.max() <= 1.0, (session, channel, offsets)
  files.write_mahnob(root, 10, 3, files.beats_for(9, 3), 240, video_start_s=None,
                     xml=xml[10])
  with pytest.raises(InputError, match='Status channel never leaves 0'):
    _extract('mahnob_hci', root, tmp_path / 'broken')
  assert not (tmp_path / 'broken').exists()
