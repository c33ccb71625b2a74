"""Tiny recordings of every kind the ingest path reads, written by the tests themselves.

The videos pulse at known beat times: each frame darkens as a narrow blood-
volume wave peaks `heart.PULSE_ARRIVAL_S` after each R-peak, so extraction can be
checked for alignment against the ECG or PPG written beside them.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from PIL import Image
from scipy import signal

from hrjax.data import heart_series as heart
from hrjax.data.synthetic import ecg

FPS = 30.0


def beats_for(duration_s: float, seed: int, bpm: float = 72.0) -> np.ndarray:
  """R-peak times over [0, duration] with a little irregularity."""
  rng = np.random.default_rng(seed)
  rr = 60.0 / bpm * (1 + 0.08 * rng.standard_normal(int(duration_s * bpm / 60) + 4))
  return np.cumsum(rr) - rng.uniform(0, rr[0])


def blood_volume(t: np.ndarray, beats: np.ndarray) -> np.ndarray:
  """Narrow waves peaking PULSE_ARRIVAL_S after each R-peak, height 1."""
  peaks = beats + heart.PULSE_ARRIVAL_S
  return np.exp(-0.5 * ((t[:, None] - peaks[None, :]) / 0.06) ** 2).sum(1)


def face_frames(n: int, hw=(48, 64), t0: float = 0.0, beats=None, drawn_face: bool = False,
                seed: int = 0) -> np.ndarray:
  """uint8 [n, H, W, 3]: skin-coloured frames that darken with each beat's wave."""
  h, w = hw
  t = t0 + np.arange(n) / FPS
  pulse = np.zeros(n) if beats is None else blood_volume(t, beats)
  base = np.array([180.0, 130.0, 110.0])
  frames = np.tile(base, (n, h, w, 1)) * (1 - 0.06 * pulse)[:, None, None, None]
  frames += np.random.default_rng(seed).normal(0, 1.0, frames.shape)
  frames = np.clip(frames, 0, 255).astype(np.uint8)
  if drawn_face:
    for i in range(n):  # a cartoon face drifting to the right
      frames[i] = draw_face(frames[i], cx=w // 3 + int(i * w / 3 / max(n, 1)), cy=h // 2,
                            r=h // 4)
  return frames


def draw_face(img: np.ndarray, cx: int, cy: int, r: int) -> np.ndarray:
  """A face OpenCV's frontal Haar cascade detects: skin oval, dark eyes and brows, mouth."""
  import cv2
  img = img.copy()
  img[:] = (img.astype(float) * 0.3).astype(np.uint8)
  cv2.ellipse(img, (cx, cy), (int(r * 0.8), r), 0, 0, 360, (200, 170, 150), -1)
  for dx in (-0.35, 0.35):
    ex = int(cx + dx * r)
    cv2.ellipse(img, (ex, int(cy - 0.2 * r)), (int(0.16 * r), int(0.08 * r)), 0, 0, 360,
                (40, 30, 30), -1)
    cv2.line(img, (int(ex - 0.2 * r), int(cy - 0.38 * r)), (int(ex + 0.2 * r), int(cy - 0.38 * r)),
             (50, 40, 40), max(1, int(0.06 * r)))
  cv2.line(img, (cx, int(cy - 0.1 * r)), (cx, int(cy + 0.25 * r)), (160, 130, 120),
           max(1, int(0.05 * r)))
  cv2.ellipse(img, (cx, int(cy + 0.5 * r)), (int(0.3 * r), int(0.08 * r)), 0, 0, 360,
              (90, 50, 50), -1)
  return cv2.GaussianBlur(img, (5, 5), 2)


def write_video(path: Path, frames: np.ndarray, codec: str = 'h264') -> Path:
  """H.264 (`.mp4`, near-lossless) or MPEG-4 Part 2 (`.avi`), or PNG frames (a folder)."""
  path = Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  if codec == 'png':
    path.mkdir(exist_ok=True)
    for i, frame in enumerate(frames):
      Image.fromarray(frame).save(path / f'Image{1_000_000_000 + i * 33_333_333}.png')
    return path
  _, h, w, _ = frames.shape
  params = {'h264': dict(codec='libx264', output_params=['-crf', '4', '-preset', 'veryfast']),
            'mpeg4': dict(codec='mpeg4', output_params=['-q:v', '1'])}[codec]
  writer = imageio_ffmpeg.write_frames(str(path), (w, h), fps=FPS, pix_fmt_out='yuv420p',
                                       quality=None, macro_block_size=2,
                                       ffmpeg_log_level='error', **params)
  writer.send(None)
  for frame in frames:
    writer.send(np.ascontiguousarray(frame))
  writer.close()
  return path


def rewrite_video(src: Path, dst: Path, *args: str, inputs: tuple[str, ...] = ()) -> Path:
  """`src` passed through ffmpeg with `args` (filters, stream copies, metadata): a phone's
  quirks (a variable frame rate, a rotation in the display matrix, an audio stream)."""
  cmd = [imageio_ffmpeg.get_ffmpeg_exe(), '-v', 'error', '-y', *inputs, '-i', str(src), *args,
         str(dst)]
  subprocess.run(cmd, check=True, capture_output=True)
  return dst


def with_tmpfs(folder: Path, options: str, then: str, timeout: int = 600):
  """Run the shell command `then` with a tmpfs mounted (`mount -o options`) at `folder`, in a
  mount namespace of its own (`unshare -rm`: no root needed, nothing left mounted); the
  calling test is skipped where the machine allows no such namespace."""
  import shutil

  import pytest
  if not shutil.which('unshare') or subprocess.run(
      ['unshare', '-rm', 'true'], capture_output=True).returncode:
    pytest.skip('needs a mount namespace of its own (unshare -rm) for a tmpfs')
  script = f'mount -t tmpfs -o {options} tmpfs {folder} || exit 99; {then}'
  return subprocess.run(['unshare', '-rm', 'sh', '-c', script], capture_output=True, text=True,
                        timeout=timeout)


def variable_rate_video(src: Path, dst: Path, n_fast: int) -> Path:
  """The first `n_fast` frames of `src` 1/30 s apart, the rest 1/15 s apart."""
  expr = f'if(lt(N,{n_fast}),N/30,{n_fast}/30+(N-{n_fast})/15)/TB'
  return rewrite_video(src, dst, '-vf', f"setpts='{expr}'",
                       '-fps_mode', 'vfr', '-c:v', 'libx264', '-crf', '4', '-pix_fmt', 'yuv420p')


def write_ecg(path: Path, beats: np.ndarray, duration_s: float, fs: float = 256.0,
              triggers: dict | None = None, channels=('EXG1', 'EXG2')) -> Path:
  """A BDF (BioSemi-like: ECG as EXG1-EXG2, triggers on `Status`) or an EDF+ file
  (a single `ECG` channel, triggers as annotations), chosen by the suffix.
  `triggers` maps code -> onset in seconds."""
  import pyedflib
  from pyedflib import highlevel
  t = np.arange(0, duration_s, 1 / fs)
  trace = ecg.ecg_at(t, beats, np.random.default_rng(1))
  triggers = triggers or {}
  if Path(path).suffix == '.bdf':
    status = np.zeros(len(t))
    for code, onset in triggers.items():
      status[int(round(onset * fs)):int(round(onset * fs)) + 5] = int(code)
    half = [trace / 2, -trace / 2]  # a bipolar lead: the difference is the ECG
    signals = [half[i] if i < 2 else np.zeros(len(t)) for i in range(len(channels))] + [status]
    headers = [highlevel.make_signal_header(c, 'mV', fs, -10, 10, -8388608, 8388607)
               for c in channels]
    headers.append(highlevel.make_signal_header('Status', '', fs, -8388608, 8388607,
                                                -8388608, 8388607))
    highlevel.write_edf(str(path), signals, headers, file_type=pyedflib.FILETYPE_BDFPLUS)
  else:
    header = highlevel.make_header()
    header['annotations'] = [[onset, 0, str(code)] for code, onset in triggers.items()]
    highlevel.write_edf(str(path), [trace], [highlevel.make_signal_header(
        'ECG', 'mV', fs, -10, 10, -32768, 32767)], header=header,
        file_type=pyedflib.FILETYPE_EDFPLUS)
  return Path(path)


def write_annotations_edf(path: Path, events: dict[str, float]) -> Path:
  """An EDF+ holding events only, no signal channel (some amplifiers' event file)."""
  import pyedflib
  writer = pyedflib.EdfWriter(str(path), 0, file_type=pyedflib.FILETYPE_EDFPLUS)
  for text, onset in events.items():
    writer.writeAnnotation(onset, -1, text)
  writer.close()
  return path


def write_ppg_csv(path: Path, beats: np.ndarray, duration_s: float, fs: float = 64.0) -> Path:
  t = np.arange(0, duration_s, 1 / fs)
  Path(path).write_text('time_s,ppg\n' + ''.join(
      f'{a:.5f},{b:.5f}\n' for a, b in zip(t, blood_volume(t, beats))))
  return Path(path)


def write_ubfc(folder: Path, beats: np.ndarray, n: int, codec='h264') -> None:
  t = np.arange(n) / FPS
  write_video(folder / ('vid.mp4' if codec == 'h264' else 'vid.avi'),
              face_frames(n, beats=beats), codec)
  ppg = blood_volume(t, beats)
  (folder / 'ground_truth.txt').write_text('\n'.join(
      ' '.join(f'{x:.6e}' for x in row) for row in (ppg, np.full(n, 70.0), t)) + '\n')


def write_ubfc_phys(root: Path, subject: int, task: str, beats: np.ndarray, n: int) -> None:
  """`root/sN/vid_sN_TK.avi` + `root/sN/bvp_sN_TK.csv` (one BVP value a line, 64 Hz)."""
  folder = root / f's{subject}'
  write_video(folder / f'vid_s{subject}_{task}.avi', face_frames(n, beats=beats), 'mpeg4')
  t = np.arange(0, n / FPS, 1 / 64.0)
  (folder / f'bvp_s{subject}_{task}.csv').write_text(
      ''.join(f'{v:.5f}\n' for v in 0.3 + blood_volume(t, beats)))


def write_cohface(root: Path, subject: int, session: int, beats: np.ndarray, n: int) -> None:
  """`root/N/K/data.avi` + `root/N/K/data.hdf5` (pulse and time at 256 Hz) as COHFACE holds them."""
  import h5py
  folder = root / str(subject) / str(session)
  write_video(folder / 'data.avi', face_frames(n, beats=beats), 'mpeg4')
  t = np.arange(0, n / FPS, 1 / 256.0)
  with h5py.File(folder / 'data.hdf5', 'w') as f:
    f['pulse'] = 0.2 + blood_volume(t, beats)
    f['respiration'] = np.sin(t)
    f['time'] = t


def write_mmpd(root: Path, subject: int, k: int, beats: np.ndarray, n: int, **labels) -> Path:
  """`root/subjectN/pN_K.mat` (MATLAB v5) as MMPD holds it: frames in [0, 1], one PPG
  sample a frame, labels as text."""
  from scipy import io
  path = root / f'subject{subject}' / f'p{subject}_{k}.mat'
  path.parent.mkdir(parents=True, exist_ok=True)
  t = np.arange(n) / FPS
  io.savemat(path, {'video': face_frames(n, beats=beats) / 255.0,
                    'GT_ppg': blood_volume(t, beats)[None, :], **labels})
  return path


def write_scamps(root: Path, name: str, beats: np.ndarray, n: int) -> Path:
  """`root/P00000N.mat` (MATLAB v7.3: HDF5, arrays stored in reverse axis order) as SCAMPS
  holds it: `Xsub` frames in [0, 1], `d_ppg` one sample a frame."""
  import h5py
  path = root / f'{name}.mat'
  root.mkdir(parents=True, exist_ok=True)
  frames = face_frames(n, beats=beats) / 255.0
  with h5py.File(path, 'w', userblock_size=512) as f:
    f['Xsub'] = frames.transpose(3, 2, 1, 0)
    f['d_ppg'] = blood_volume(np.arange(n) / FPS, beats)[None, :]
    for v in f.values():
      v.attrs['MATLAB_class'] = np.bytes_('double')
  return path


def write_ibvp(root: Path, session: str, beats: np.ndarray, n: int) -> None:
  """`root/pXX_Y/pXX_Y_rgb/NNNN.bmp` + `root/pXX_Y/pXX_Y_bvp.csv` (a header, the BVP first,
  three more columns) as iBVP holds them; the BVP at 250 Hz over the frames' span."""
  folder = root / session
  (folder / f'{session}_rgb').mkdir(parents=True, exist_ok=True)
  for i, frame in enumerate(face_frames(n, beats=beats)):
    Image.fromarray(frame).save(folder / f'{session}_rgb' / f'{i:04d}.bmp')
  t = np.arange(0, n / FPS, 1 / 250.0)
  rows = ''.join(f'{v:.5f},0,0,0.9\n' for v in blood_volume(t, beats))
  (folder / f'{session}_bvp.csv').write_text('BVP,SQ,SQ1,SQ2\n' + rows)


def write_vipl(root: Path, subject: int, scenario: int, source: int, beats: np.ndarray,
               n: int) -> None:
  """`root/pN/vM/sourceK/video.avi` + `wave.csv` (a header, one BVP value a line at 60 Hz)."""
  folder = root / f'p{subject}' / f'v{scenario}' / f'source{source}'
  write_video(folder / 'video.avi', face_frames(n, beats=beats), 'mpeg4')
  t = np.arange(0, n / FPS, 1 / 60.0)
  (folder / 'wave.csv').write_text('Wave\n' + ''.join(
      f'{60 + 20 * v:.3f}\n' for v in blood_volume(t, beats)))


def write_lgi(root: Path, name: str, session: str, beats: np.ndarray, n: int) -> None:
  """`root/NAME/NAME_SESSION/cv_camera_sensor_stream_handler.avi` + `cms50_stream_handler.xml`:
  entries `valueK` holding `value0` (a count), `value1` (the rate), `value2` (the trace)
  at 60 Hz; one entry without numbers, as the real streams have."""
  folder = root / name / f'{name}_{session}'
  write_video(folder / 'cv_camera_sensor_stream_handler.avi', face_frames(n, beats=beats),
              'mpeg4')
  t = np.arange(0, n / FPS, 1 / 60.0)
  entries = [f'<value{i}><value0>{i}</value0><value1>72</value1><value2>{50 + 40 * v:.2f}'
             f'</value2></value{i}>' for i, v in enumerate(blood_volume(t, beats))]
  entries.append(f'<value{len(t)}><value0>\n</value0></value{len(t)}>')
  (folder / 'cms50_stream_handler.xml').write_text(
      '<?xml version="1.0"?>\n<boost_serialization>' + ''.join(entries) +
      '</boost_serialization>\n')


def write_mahnob(root: Path, session: int, participant: int, beats: np.ndarray, n: int,
                 video_start_s: float | None = 2.0, xml: dict | None = None) -> None:
  """`root/Sessions/N/` with `P<k>-Rec1-..._C1 trigger _C_Section_N.avi` and
  `Part_<k>_S_Trial1_emotion.bdf`: ECG as EXG3-EXG1, `Status` non-zero while the video runs
  (from `video_start_s` on the BDF's clock; None: never). `beats` are on the video's clock.
  `xml`: a `session.xml` too, `subject` its subject's id, the rest the session's attributes
  (feltEmo, feltArsl, ...)."""
  import pyedflib
  from pyedflib import highlevel
  folder = root / 'Sessions' / str(session)
  name = f'P{participant}-Rec1-2009.07.09.17.53.46_C1 trigger _C_Section_{session}.avi'
  write_video(folder / name, face_frames(n, beats=beats), 'mpeg4')
  broken, video_start_s = video_start_s is None, video_start_s or 2.0
  fs, duration = 256.0, video_start_s + n / FPS + 3.0
  t = np.arange(0, duration, 1 / fs)
  rr = float(np.mean(np.diff(beats)))  # the heart beats before the video starts, too
  before = beats[0] - rr * np.arange(int(video_start_s / rr) + 2, 0, -1)
  trace = ecg.ecg_at(t, np.concatenate([before, beats]) + video_start_s,
                     np.random.default_rng(1))
  status = np.zeros(len(t))
  status[(t >= video_start_s) & (t < video_start_s + n / FPS)] = 0 if broken else 4
  signals = [-trace / 2, np.zeros(len(t)), trace / 2, status]
  names = ('EXG1', 'EXG2', 'EXG3')
  headers = [highlevel.make_signal_header(c, 'uV', fs, -10, 10, -8388608, 8388607) for c in names]
  headers.append(highlevel.make_signal_header('Status', '', fs, -8388608, 8388607, -8388608,
                                              8388607))
  highlevel.write_edf(str(folder / f'Part_{participant}_S_Trial1_emotion.bdf'), signals, headers,
                      file_type=pyedflib.FILETYPE_BDFPLUS)
  if xml is not None:
    attrs = ' '.join(f'{k}="{v}"' for k, v in xml.items() if k != 'subject')
    (folder / 'session.xml').write_text(
        f'<?xml version="1.0" encoding="utf-8"?>\n<session sessionId="{session}" {attrs}>'
        f'<subject id="{xml["subject"]}" /></session>\n')


def write_pure(root: Path, session: str, beats: np.ndarray, n: int) -> None:
  """`root/NN-MM/NN-MM/Image<ns>.png` + `root/NN-MM/NN-MM.json` as PURE stores them."""
  folder = root / session
  frames_dir = write_video(folder / session, face_frames(n, beats=beats), 'png')
  image_ns = sorted(int(p.stem[len('Image'):]) for p in frames_dir.iterdir())
  t0 = image_ns[0]
  wave_t = np.arange(0, n / FPS, 1 / 60.0)
  wave = 100 + 40 * blood_volume(wave_t, beats)
  data = {'/FullPackage': [{'Timestamp': int(t0 + s * 1e9),
                            'Value': {'waveform': float(v), 'pulseRate': 70}}
                           for s, v in zip(wave_t, wave)],
          '/Image': [{'Timestamp': ns} for ns in image_ns]}
  (folder / f'{session}.json').write_text(json.dumps(data))


def peak_offsets(split, rows: np.ndarray, beats: np.ndarray, channel: str,
                 video_t0: float = 0.0) -> np.ndarray:
  """Frames between each expected wave peak (R-peak + arrival, from the true beats) and the
  nearest peak of the video's darkening or of the stored pulse, over the clips where `rows`
  is true (a store's split); clip edges left out."""
  offsets = []
  for i in np.flatnonzero(rows):
    if channel == 'video':
      x = -np.asarray(split.video[i], float).mean((1, 2, 3))
    else:
      x = np.asarray(split.heart[i, :, 0])
    found, _ = signal.find_peaks(x, distance=8, prominence=0.3 * np.ptp(x))
    expected = (beats + heart.PULSE_ARRIVAL_S - video_t0 - split.rows[i]['start_s']) * FPS
    expected = expected[(expected > 3) & (expected < len(x) - 4)]
    offsets += [float(np.min(np.abs(found - e))) if len(found) else 99.0 for e in expected]
  return np.array(offsets)
