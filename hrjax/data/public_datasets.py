"""Adapters for public rPPG datasets: UBFC-Phys, COHFACE, MMPD, SCAMPS, iBVP, VIPL-HR,
LGI-PPGI and MAHNOB-HCI.

Each finds a dataset's recordings in its published layout and reads its heart
signal; the facts (file names, sample rates, clocks) are in docs/data.md with
where they come from. `adapters.ADAPTERS` selects them by name.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from hrjax.data import heart_files, mat_files, video_io
from hrjax.data import heart_series as heart
from hrjax.data.recording import VIDEO_EXTENSIONS, Recording, find_video, numbered_folders
from hrjax.errors import InputError

UBFC_PHYS_BVP_HZ = 64.0  # the Empatica E4 wristband's BVP rate (the dataset's paper)
UBFC_PHYS_TASKS = {'T1': 'rest', 'T2': 'speech', 'T3': 'arithmetic'}


def ubfc_phys(root: Path) -> list[Recording]:
  """UBFC-Phys: `sN/vid_sN_TK.avi` and `sN/bvp_sN_TK.csv` per subject N and task K (T1
  rest, T2 speech, T3 arithmetic: the clips' `task`). The BVP file holds one value per
  line at 64 Hz (an Empatica E4 on the wrist), its first sample at the video's first frame."""
  folders = numbered_folders(root, r's\d+', 'no sN subject folders: not a UBFC-Phys layout')
  recordings = []
  for folder in folders:
    videos = sorted(p for p in folder.iterdir() if p.suffix.lower() in VIDEO_EXTENSIONS
                    and re.fullmatch(rf'vid_{folder.name}_T\d+', p.stem))
    if not videos:
      raise InputError(folder, f'no vid_{folder.name}_TK video in this folder')
    for video in videos:
      task = video.stem.rsplit('_', 1)[1]
      bvp = folder / f'bvp_{folder.name}_{task}.csv'
      recordings.append(Recording(
          subject=folder.name[1:], recording=video.stem[len('vid_'):], video=video,
          heart_file=bvp, load_heart=lambda bvp=bvp: heart_files.read_ppg(bvp, UBFC_PHYS_BVP_HZ),
          meta={'task': UBFC_PHYS_TASKS.get(task, task)}))
  return recordings


COHFACE_PULSE_HZ = 256.0  # the contact PPG's rate (the dataset's documentation)


def read_cohface_heart(path: Path) -> heart.HeartSeries:
  """A COHFACE `data.hdf5`: `pulse` (a contact PPG) and `time` (seconds of each sample,
  its first at the video's first frame); without `time`, samples at 256 Hz."""
  import h5py  # here: only this layout needs HDF5
  if not Path(path).is_file():
    raise InputError(path, 'heart file not found')
  try:
    with h5py.File(path, 'r') as f:
      if 'pulse' not in f:
        raise InputError(path, f'no "pulse" dataset in the HDF5 file (it holds '
                         f'{", ".join(sorted(f)) or "nothing"})')
      pulse = np.asarray(f['pulse'][:], float).ravel()
      t = np.asarray(f['time'][:], float).ravel() if 'time' in f else None
  except OSError as e:
    raise InputError(path, f'cannot read it as HDF5 ({e})') from None
  if t is None or len(t) != len(pulse):
    t = np.arange(len(pulse)) / COHFACE_PULSE_HZ
  heart_files.no_nans(path, 'the pulse', pulse)
  if len(pulse) < 10:
    raise InputError(path, f'only {len(pulse)} pulse samples')
  t = heart_files.repair_timestamps(t, path)
  return heart.from_ppg(t - t[0], pulse)


def cohface(root: Path) -> list[Recording]:
  """COHFACE: `N/K/data.avi` and `N/K/data.hdf5` per subject N and session K (0-3), the HDF5
  holding the contact PPG (`read_cohface_heart`). Recording `N-K`; the clips' `session`."""
  subjects = sorted((p for p in Path(root).iterdir() if p.is_dir() and p.name.isdigit()),
                    key=lambda p: int(p.name))
  sessions = [k for n in subjects for k in sorted(n.iterdir()) if k.is_dir() and k.name.isdigit()]
  if not sessions:
    raise InputError(root, 'no N/K subject and session folders: not a COHFACE layout')
  recordings = []
  for folder in sessions:
    h5 = folder / 'data.hdf5'
    recordings.append(Recording(
        subject=folder.parent.name, recording=f'{folder.parent.name}-{folder.name}',
        video=find_video(folder), heart_file=h5,
        load_heart=lambda h5=h5: read_cohface_heart(h5), meta={'session': folder.name}))
  return recordings


MAT_FPS = 30.0  # MMPD's and SCAMPS's videos (their papers); the files hold no frame times
MMPD_LABELS = ('light', 'motion', 'exercise', 'skin_color', 'gender', 'glasser', 'hair_cover',
               'makeup')


def spread_over(path: Path, pulse: np.ndarray, seconds: float,
                name: str = 'BVP') -> heart.HeartSeries:
  """A pulse whose file gives no times, its samples spread evenly over `seconds` from the
  video's first frame: the video's span, as the peers' loaders stretch such a pulse onto
  the frames."""
  heart_files.no_nans(path, f'the {name}', pulse)
  if len(pulse) < 10:
    raise InputError(path, f'only {len(pulse)} {name} samples')
  return heart.from_ppg(np.arange(len(pulse)) * seconds / len(pulse), pulse)


def read_mat_pulse(path: Path, variable: str, fps: float = MAT_FPS) -> heart.HeartSeries:
  """A pulse stored beside the frames in a MATLAB file (both datasets store one sample per
  frame), spread over the frames' span."""
  pulse = np.asarray(mat_files.read_variable(path, variable), float).ravel()
  return spread_over(path, pulse, mat_files.frame_count(path) / fps, f'pulse ({variable})')


def _mat_recording(path: Path, subject: str, pulse: str, labels: tuple = ()) -> Recording:
  return Recording(
      subject=subject, recording=path.stem, video=path, heart_file=path,
      load_heart=lambda: read_mat_pulse(path, pulse),
      frame_times=lambda: np.arange(mat_files.frame_count(path)) / MAT_FPS,
      meta=mat_files.read_labels(path, labels))


def mmpd(root: Path) -> list[Recording]:
  """MMPD (and mini-MMPD): `subjectN/pN_K.mat` (MATLAB v5), each holding `video` (frames in
  [0, 1], 30 fps), `GT_ppg` (the oximeter's pulse, as many samples as frames) and labels
  (light, motion, exercise, skin_color, ...: every clip's row carries them)."""
  folders = numbered_folders(root, r'subject\d+', 'no subjectN folders: not an MMPD layout')
  recordings = []
  for folder in folders:
    n = folder.name[len('subject'):]
    mats = sorted(folder.glob(f'p{n}_*.mat'), key=lambda p: int(re.findall(r'\d+', p.stem)[-1]))
    if not mats:
      raise InputError(folder, f'no p{n}_K.mat files in this folder')
    recordings += [_mat_recording(m, n, 'GT_ppg', MMPD_LABELS) for m in mats]
  return recordings


def scamps(root: Path) -> list[Recording]:
  """SCAMPS (synthetic faces): `P000001.mat` ... (MATLAB v7.3), each a different synthetic
  person: `Xsub` (frames in [0, 1], 30 fps) and `d_ppg` (the pulse, one sample a frame)."""
  mats = sorted(p for p in Path(root).iterdir() if p.suffix.lower() == '.mat')
  if not mats:
    raise InputError(root, 'no .mat files: not a SCAMPS layout')
  return [_mat_recording(m, m.stem, 'd_ppg') for m in mats]


IBVP_FPS = 30.0  # iBVP's RGB camera (the dataset's paper); its frames are image files


def read_ibvp_heart(path: Path, frames: int) -> heart.HeartSeries:
  """An iBVP `pXX_Y_bvp.csv` (a header row; the BVP in the first column), its samples spread
  evenly over the span of the session's `frames` frames, as the peers' loader stretches it."""
  return spread_over(path, heart_files.read_table(path)[:, 0], frames / IBVP_FPS)


def ibvp(root: Path) -> list[Recording]:
  """iBVP: per session `pXX_Y/` (subject XX, session Y) the RGB frames `pXX_Y_rgb/*.bmp`
  (30 fps; the thermal `pXX_Y_t/` is not read) and `pXX_Y_bvp.csv` (the BVP first)."""
  sessions = numbered_folders(root, r'p\d+_\w+', 'no pXX_Y session folders: not an iBVP layout')
  recordings = []
  for folder in sessions:
    frames_dir, bvp = folder / f'{folder.name}_rgb', folder / f'{folder.name}_bvp.csv'
    if not frames_dir.is_dir():
      raise InputError(folder, f'no {frames_dir.name} folder of RGB frames')
    count = lambda d=frames_dir: len(video_io.image_files(d))
    recordings.append(Recording(
        subject=folder.name.split('_')[0][1:], recording=folder.name, video=frames_dir,
        heart_file=bvp, load_heart=lambda bvp=bvp, count=count: read_ibvp_heart(bvp, count()),
        frame_times=lambda count=count: np.arange(count()) / IBVP_FPS))
  return recordings


VIPL_RGB_SOURCES = ('source1', 'source2', 'source3')  # source4 is the near-infrared camera


def _over_the_video(path: Path, bvp: np.ndarray, video: Path) -> heart.HeartSeries:
  """`spread_over` the video's span as its container states it (frame count and rate)."""
  info = video_io.probe(video)
  return spread_over(path, bvp, info.frames / info.fps)


def read_vipl_heart(path: Path, video: Path) -> heart.HeartSeries:
  """A VIPL-HR `wave.csv` (a header, then one BVP value a line) over the video's span."""
  return _over_the_video(path, heart_files.read_table(path)[:, 0], video)


def vipl_hr(root: Path) -> list[Recording]:
  """VIPL-HR: `pN/vM/sourceK/video.avi` with `wave.csv` beside it, per subject N, scenario
  M (1-9) and camera K; the RGB cameras (sources 1-3) only. The clips' `scenario` and
  `source` say which."""
  subjects = numbered_folders(root, r'p\d+', 'no pN subject folders: not a VIPL-HR layout')
  recordings = []
  for subject in subjects:
    for scenario in sorted(p for p in subject.iterdir() if re.fullmatch(r'v\d+', p.name)):
      for source in (scenario / s for s in VIPL_RGB_SOURCES):
        if not source.is_dir():
          continue
        video, wave = find_video(source), source / 'wave.csv'
        recordings.append(Recording(
            subject=subject.name[1:], recording=f'{subject.name}-{scenario.name}-{source.name}',
            video=video, heart_file=wave,
            load_heart=lambda wave=wave, video=video: read_vipl_heart(wave, video),
            meta={'scenario': scenario.name, 'source': source.name}))
  if not recordings:
    raise InputError(root, 'no pN/vM/sourceK folders of an RGB camera (source1-3)')
  return recordings


LGI_VIDEO = 'cv_camera_sensor_stream_handler.avi'
LGI_PULSE = 'cms50_stream_handler.xml'


def _xml(path: Path):
  """The root element of an XML file; InputError naming it when it is not well formed."""
  import xml.etree.ElementTree as ElementTree
  try:
    return ElementTree.parse(path).getroot()
  except ElementTree.ParseError as e:
    raise InputError(path, f'not well-formed XML ({e})') from None


def read_lgi_heart(path: Path, video: Path) -> heart.HeartSeries:
  """An LGI-PPGI `cms50_stream_handler.xml` (a CMS50E pulse oximeter's stream): every leaf
  `value2` element is a sample of its pleth trace (`value1` its rate), spread over the
  video's span. Entries without a number are skipped."""
  if not Path(path).is_file():
    raise InputError(path, 'heart file not found')
  trace = [e.text.strip() for e in _xml(path).iter('value2') if len(e) == 0 and e.text]
  values = np.array([float(t) for t in trace if heart_files.is_number(t)])
  return _over_the_video(path, values, video)


def lgi_ppgi(root: Path) -> list[Recording]:
  """LGI-PPGI: `NAME/NAME_SESSION/` per participant and session (gym, resting, rotation,
  talk: the clips' `session`), each with `cv_camera_sensor_stream_handler.avi` and the
  oximeter's `cms50_stream_handler.xml`."""
  sessions = sorted(s for p in Path(root).iterdir() if p.is_dir() for s in p.iterdir()
                    if s.is_dir() and s.name.startswith(p.name + '_') and (s / LGI_VIDEO).is_file())
  if not sessions:
    raise InputError(root, f'no NAME/NAME_SESSION/{LGI_VIDEO}: not an LGI-PPGI layout')
  return [Recording(subject=s.parent.name, recording=s.name, video=s / LGI_VIDEO,
                    heart_file=s / LGI_PULSE,
                    load_heart=lambda s=s: read_lgi_heart(s / LGI_PULSE, s / LGI_VIDEO),
                    meta={'session': s.name[len(s.parent.name) + 1:]})
          for s in sessions]


MAHNOB_ECG = 'EXG3-EXG1'  # left abdomen against upper right chest: a lead II (docs/data.md)


def read_mahnob_heart(bdf: Path) -> heart.HeartSeries:
  """A MAHNOB-HCI session's BDF: the ECG from the first non-zero sample of its `Status`
  channel on, which is when the session's video starts (the peers' reading)."""
  return heart_files.read_ecg(bdf, MAHNOB_ECG, start_code=heart_files.FIRST_TRIGGER)


# session.xml's self-reports (the dataset's manual): feltEmo's codes, arousal and valence 1-9
MAHNOB_EMOTIONS = {'0': 'neutral', '1': 'anger', '2': 'disgust', '3': 'fear', '4': 'joy',
                   '5': 'sadness', '6': 'surprise', '11': 'amusement', '12': 'anxiety'}


def mahnob_session(folder: Path) -> tuple[str | None, dict]:
  """A session's `session.xml`: its subject's id (None without the file) and labels for the
  clips: the felt emotion, arousal and valence where the session had a stimulus to rate."""
  path = folder / 'session.xml'
  if not path.is_file():
    return None, {}
  session = _xml(path)
  subject = session.find('subject')
  meta = {}
  if 'feltEmo' in session.attrib:
    code = session.attrib['feltEmo']
    meta = dict(felt_emotion=MAHNOB_EMOTIONS.get(code, code),
                felt_arousal=session.attrib.get('feltArsl', ''),
                felt_valence=session.attrib.get('feltVlnc', ''))
  return (None if subject is None else subject.attrib.get('id')), meta


def mahnob_hci(root: Path) -> list[Recording]:
  """MAHNOB-HCI (tagging database): session folders `N/` (under `Sessions/` or not), each
  with the frontal colour camera's `P<k>-Rec1-..._C1 trigger _C_Section_N.avi`,
  `Part_<k>_..._Trial<t>_emotion.bdf` (ECG on EXG1-3, a `Status` trigger channel) and
  `session.xml` (the subject's id, else k; the felt emotion, arousal and valence as clip
  labels). Sessions without a video and a BDF are left out with a warning."""
  from absl import logging
  base = Path(root) / 'Sessions' if (Path(root) / 'Sessions').is_dir() else Path(root)
  sessions = numbered_folders(base, r'\d+', 'no numbered session folders: not a MAHNOB-HCI '
                              'layout')
  recordings, incomplete = [], []
  for folder in sessions:
    videos = sorted(folder.glob('*C1 trigger*.avi'))
    bdfs = sorted(folder.glob('Part_*.bdf'))
    if not videos or not bdfs:
      incomplete.append(folder.name)
      continue
    bdf = bdfs[0]
    participant = re.match(r'Part_(\d+)_', bdf.name)
    subject, meta = mahnob_session(folder)
    recordings.append(Recording(
        subject=subject or (participant.group(1) if participant else folder.name),
        recording=f'session{folder.name}', video=videos[0], heart_file=bdf,
        load_heart=lambda bdf=bdf: read_mahnob_heart(bdf), meta=meta))
  if incomplete:
    listed = ', '.join(incomplete[:10]) + (' ...' if len(incomplete) > 10 else '')
    logging.warning('%s: %d sessions without a C1 trigger video and a BDF left out: %s', base,
                    len(incomplete), listed)
  if not recordings:
    raise InputError(base, 'no session folder holds both a C1 trigger video and a Part_ BDF')
  return recordings
