r"""Try every kind of broken or odd input on the commands and tabulate what each says.

  python scripts/bad_inputs.py [--workdir /tmp/hrjax-bad-inputs]

Each case writes a tiny dataset with one defect or quirk (tests/ingest_files.py makes the
files), runs `scripts/extract.py`, `python -m hrjax.main` or `python -m hrjax.predict` on
it as a user would, and records the exit status, the error (or, where the input is
repaired, the warning), whether anything was left at the store path, and the command's
peak RSS (its process tree, from wait4). Prints a Markdown table.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from absl import app, flags

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hrjax.data import video_io  # noqa: E402,F401  (quiets imageio-ffmpeg's warnings)
from tests import ingest_files as files  # noqa: E402

flags.DEFINE_string('workdir', None, 'Where to write the cases (default: a temporary folder).')
FLAGS = flags.FLAGS


def _ubfc(root: Path, n: int = 150) -> Path:
  files.write_ubfc(root / 'subject1', files.beats_for(5, 0), n)
  return root / 'subject1'


def _edit_gt(folder: Path, edit) -> None:
  gt = folder / 'ground_truth.txt'
  rows = [line.split() for line in gt.read_text().splitlines()]
  edit(rows)
  gt.write_text('\n'.join(' '.join(r) for r in rows))


MANIFEST = 'subject,video,heart,kind,channel,start_code'


def _manifest(root: Path, row: str, header=MANIFEST) -> Path:
  root.mkdir(parents=True, exist_ok=True)
  files.write_video(root / 'a.mp4', files.face_frames(240, (16, 16)))
  files.write_ecg(root / 'a.bdf', files.beats_for(10, 0), 10.0, triggers={'5': 1.0})
  (root / 'manifest.csv').write_text(f'{header}\n{row}\n')
  return root / 'manifest.csv'


def _truncate(p: Path) -> None:
  p.write_bytes(p.read_bytes()[:p.stat().st_size // 2])


def _audio_only(p: Path) -> None:
  files.rewrite_video(p, p.with_name('a.m4a'), '-vn', '-c:a', 'aac',
                      inputs=('-f', 'lavfi', '-i', 'sine=d=5'))
  p.with_name('a.m4a').replace(p)


def _single_frame(p: Path) -> None:
  files.rewrite_video(p, p.with_name('one.mp4'), '-frames:v', '1')
  p.with_name('one.mp4').replace(p)


def _variable_rate(p: Path) -> None:
  files.variable_rate_video(p, p.with_name('vfr.mp4'), n_fast=180).replace(p)  # 6 s + 4 s


def _rotated(p: Path) -> None:
  files.rewrite_video(p, p.with_name('rot.mp4'), '-c', 'copy',
                      inputs=('-display_rotation', '90')).replace(p)


def _with_audio(p: Path) -> None:
  files.rewrite_video(p, p.with_name('av.mp4'), '-c:v', 'copy', '-c:a', 'aac', '-shortest',
                      inputs=('-f', 'lavfi', '-i', 'sine=d=10')).replace(p)


def _test_pattern(root: Path, size: str, seconds: float) -> None:
  """An H.264 test pattern of `size` pixels with a rate as its heart (the pixels' content
  does not matter here: what is measured is that decoding streams)."""
  root.mkdir(parents=True)
  files.rewrite_video(Path(f'testsrc2=size={size}:rate=30'), root / 'a.mp4',
                      '-t', str(seconds), '-c:v', 'libx264', '-preset', 'ultrafast',
                      '-pix_fmt', 'yuv420p', inputs=('-f', 'lavfi'))
  (root / 'manifest.csv').write_text('subject,video,heart,kind\np1,a.mp4,72,rate\n')


def _zero_frames(p: Path) -> None:
  import imageio_ffmpeg
  p.unlink()
  writer = imageio_ffmpeg.write_frames(str(p), (16, 16), ffmpeg_log_level='error')
  writer.send(None)
  writer.close()


def _extract(name, dataset, root, extra, base: Path):
  """A case for scripts/extract.py: (name, argv, the store path it must not leave)."""
  store = base / 'stores' / name.replace(' ', '_')
  return (name, [str(ROOT / 'scripts' / 'extract.py'), f'--dataset={dataset}', f'--root={root}',
                 f'--store={store}', '--progress=false', '--clip_frames=32',
                 '--split_fractions=0,0,1', *extra], store)


def broken_file_cases(base: Path):
  """Files that cannot be used: each must stop with its name and nothing left."""
  def ubfc(name, damage, extra=('--crop', 'none')):
    folder = _ubfc(base / name)
    damage(folder)
    return _extract(name, 'ubfc_rppg', base / name, list(extra), base)

  yield ubfc('truncated video', lambda f: _truncate(f / 'vid.mp4'))
  yield ubfc('corrupt video', lambda f: (f / 'vid.mp4').write_bytes(
      np.random.default_rng(0).bytes(20000)))
  yield ubfc('zero frames', lambda f: _zero_frames(f / 'vid.mp4'))
  yield ubfc('empty file (0 bytes)', lambda f: (f / 'vid.mp4').write_bytes(b''))
  yield ubfc('missing heart file', lambda f: (f / 'ground_truth.txt').unlink())
  yield ubfc('heart shorter than video', lambda f: _edit_gt(
      f, lambda rows: [r.__delitem__(slice(12, None)) for r in rows]))
  yield ubfc('NaN in the PPG', lambda f: _edit_gt(f, lambda rows: rows[0].__setitem__(40, 'nan')))
  yield ubfc('timestamps go backwards', lambda f: _edit_gt(
      f, lambda rows: rows[2].__setitem__(slice(50, 52), rows[2][51:49:-1])))
  yield ubfc('no face in the video (--crop face)', lambda f: None, extra=())
  yield ubfc("MediaPipe's Python missing (--face_detector mediapipe)", lambda f: None,
             extra=('--face_detector=mediapipe', f'--face_python={base / "no-python"}'))
  yield ubfc('a face Python without mediapipe', lambda f: None,
             extra=('--face_detector=mediapipe', f'--face_python={sys.executable}'))
  yield ubfc('audio only (no video stream)', lambda f: _audio_only(f / 'vid.mp4'))
  yield ubfc('a single-frame video', lambda f: _single_frame(f / 'vid.mp4'))
  _manifest(base / 'ecg-channel', 'p1,a.mp4,a.bdf,ecg,ECG,')
  yield _extract('missing ECG channel', 'manifest', base / 'ecg-channel', ['--crop', 'none'], base)
  _manifest(base / 'trigger', 'p1,a.mp4,a.bdf,ecg,EXG1-EXG2,9')
  yield _extract('missing trigger code', 'manifest', base / 'trigger', ['--crop', 'none'], base)
  _manifest(base / 'events-edf', 'p1,a.mp4,events.edf,ecg,,')
  files.write_annotations_edf(base / 'events-edf' / 'events.edf', {'start': 1.0, 'end': 8.0})
  yield _extract('an EDF+ with annotations only', 'manifest', base / 'events-edf', [], base)
  yield from _table_cases(base)


def _table_cases(base: Path):
  _manifest(base / 'nan-csv', 'p1,a.mp4,p.csv,ppg,,')
  (base / 'nan-csv' / 'p.csv').write_text('t,ppg\n0,1\n0.1,nan\n0.2,3\n' + ''.join(
      f'{0.3 + i / 10},{i % 7}\n' for i in range(100)))
  yield _extract('NaN in a PPG table', 'manifest', base / 'nan-csv', ['--crop', 'none'], base)
  _manifest(base / 'fs', 'p1,a.mp4,p.csv,ppg,,,32', header=MANIFEST + ',fs')
  files.write_ppg_csv(base / 'fs' / 'p.csv', files.beats_for(10, 0), 10.0, fs=64.0)
  yield _extract('PPG table: times disagree with its fs', 'manifest', base / 'fs', [], base)
  _manifest(base / 'ms', 'p1,a.mp4,p.csv,ppg,,')
  table = np.array([(i / 64 * 1000, np.sin(i / 8)) for i in range(640)])
  np.savetxt(base / 'ms' / 'p.csv', table, delimiter=',', header='t_ms,ppg', comments='')
  yield _extract('PPG table: times in milliseconds', 'manifest', base / 'ms', [], base)
  _manifest(base / 'columns', 'p1,a.mp4,a.bdf', header='subject,video,heart')
  yield _extract('manifest without a kind column', 'manifest', base / 'columns', [], base)
  _manifest(base / 'twice', 'p1,a.mp4,70,rate,,,x\np2,./a.mp4,72,rate,,,y',
            header=MANIFEST + ',recording')
  yield _extract('manifest names one video twice', 'manifest', base / 'twice', [], base)
  _manifest(base / 'missing', 'p1,b.mp4,70,rate,,')
  yield _extract('manifest names a missing video', 'manifest', base / 'missing', [], base)
  yield _extract('wrong layout (PURE asked, UBFC given)', 'pure', base / 'truncated video', [],
                 base)
  yield _extract('unknown layout name', 'ubfc', base / 'truncated video', [], base)
  (base / 'pure' / '01-01' / '01-01').mkdir(parents=True)
  (base / 'pure' / '01-01' / '01-01.json').write_text('{"/Image": [')
  yield _extract('broken PURE JSON', 'pure', base / 'pure', ['--crop', 'none'], base)
  files.write_ubfc_phys(base / 'phys', 1, 'T1', files.beats_for(5, 0), 150)
  files.write_ubfc_phys(base / 'phys', 1, 'T2', files.beats_for(5, 1), 150)
  (base / 'phys' / 's1' / 'bvp_s1_T2.csv').unlink()
  yield _extract('UBFC-Phys: a task without its BVP file', 'ubfc_phys', base / 'phys',
                 ['--crop', 'none'], base)
  files.write_cohface(base / 'cohface', 1, 0, files.beats_for(5, 0), 150)
  (base / 'cohface' / '1' / '0' / 'data.hdf5').write_bytes(b'not HDF5')
  yield _extract('COHFACE: a broken HDF5 file', 'cohface', base / 'cohface', ['--crop', 'none'],
                 base)
  files.write_mmpd(base / 'mmpd', 1, 0, files.beats_for(5, 0), 150)
  (base / 'mmpd' / 'subject1' / 'p1_0.mat').write_bytes(b'MATLAB 5.0 MAT-file, cut short')
  yield _extract('MMPD: a truncated MATLAB file', 'mmpd', base / 'mmpd', ['--crop', 'none'], base)
  files.write_scamps(base / 'scamps', 'P000001', files.beats_for(5, 0), 150)
  files.write_mmpd(base / 'scamps-v5', 1, 0, files.beats_for(5, 0), 150)
  shutil.move(base / 'scamps-v5' / 'subject1' / 'p1_0.mat', base / 'scamps' / 'P000002.mat')
  yield _extract('SCAMPS: an MMPD file among them (no d_ppg)', 'scamps', base / 'scamps',
                 ['--crop', 'none'], base)
  files.write_ibvp(base / 'ibvp', 'p01_a', files.beats_for(5, 0), 150)
  (base / 'ibvp' / 'p01_a' / 'p01_a_bvp.csv').write_text('BVP,SQ,SQ1,SQ2\n0.1,0,0,nan\n')
  yield _extract('iBVP: a BVP file of one row', 'ibvp', base / 'ibvp', ['--crop', 'none'], base)
  files.write_vipl(base / 'vipl', 1, 1, 1, files.beats_for(5, 0), 150)
  (base / 'vipl' / 'p1' / 'v1' / 'source1' / 'wave.csv').unlink()
  yield _extract('VIPL-HR: a camera folder without wave.csv', 'vipl_hr', base / 'vipl',
                 ['--crop', 'none'], base)
  files.write_lgi(base / 'lgi', 'alex', 'resting', files.beats_for(5, 0), 150)
  xml = base / 'lgi' / 'alex' / 'alex_resting' / 'cms50_stream_handler.xml'
  xml.write_text(xml.read_text()[:300])
  yield _extract('LGI-PPGI: a cut-off oximeter XML', 'lgi_ppgi', base / 'lgi', ['--crop', 'none'],
                 base)
  files.write_mahnob(base / 'mahnob', 2, 1, files.beats_for(9, 0), 240, video_start_s=None)
  yield _extract('MAHNOB-HCI: a BDF whose Status channel stays 0', 'mahnob_hci',
                 base / 'mahnob', ['--crop', 'none'], base)


def quirk_cases(base: Path):
  """Odd but usable files: each is read (exit 0), repaired with a warning where needed."""
  folder = _ubfc(base / 'repeated end')
  _edit_gt(folder, lambda rows: [r.__setitem__(-1, r[-2]) for r in rows[2:3]])
  yield _extract('heart file whose last timestamps repeat', 'ubfc_rppg', base / 'repeated end',
                 ['--crop', 'none'], base)
  for name, make in (('variable-frame-rate phone video', _variable_rate),
                     ('rotated phone video (display matrix)', _rotated),
                     ('video with an audio stream too', _with_audio)):
    make(_manifest(base / name, 'p1,a.mp4,a.bdf,ecg,EXG1-EXG2,').parent / 'a.mp4')
    yield _extract(name, 'manifest', base / name, ['--crop', 'none'], base)
  odd = base / 'space and ü' / 'Prüfling data' / 'subject1'
  files.write_ubfc(odd, files.beats_for(5, 0), 150)
  yield _extract('paths with spaces and non-ASCII', 'ubfc_rppg', odd.parent,
                 ['--crop', 'none'], base)
  for name, encoding in (('manifest and PPG table in UTF-16', 'utf-16'),
                         ('manifest in Windows-1252', 'cp1252')):
    manifest = _manifest(base / name, 'José,a.mp4,p.csv,ppg,,')
    ppg = files.write_ppg_csv(base / name / 'p.csv', files.beats_for(10, 0), 10.0)
    for p in (manifest, ppg):
      p.write_bytes(p.read_text().encode(encoding))
    yield _extract(name, 'manifest', base / name, ['--crop', 'none'], base)
  _test_pattern(base / '4k', '3840x2160', 10.0)
  yield _extract('a 4K video (streamed)', 'manifest', base / '4k', ['--crop', 'center'], base)
  _test_pattern(base / 'long', '1920x1080', 180.0)
  yield _extract('a 3-minute 1080p video (streamed)', 'manifest', base / 'long',
                 ['--crop', 'center'], base)


def command_cases(base: Path):
  """Training and prediction given values that cannot work."""
  quick = [str(ROOT / 'configs' / 'quick.py')]
  for name, override in (('config: negative steps', '--config.train.steps=-5'),
                         ('config: unknown representation', '--config.model.representation=ppg'),
                         ('config: a misspelt key', '--config.train.stepz=5')):
    work = base / 'runs' / name.replace(' ', '_')
    yield (name, ['-m', 'hrjax.main', f'--config={quick[0]}', f'--workdir={work}', override],
           work)
  root = base / 'three'
  for i in range(1, 4):
    files.write_ubfc(root / f'subject{i}', files.beats_for(6, i), 180)
  work, store = base / 'runs' / 'batch', base / 'stores' / 'batch'
  yield ('config: a batch larger than the subjects',
         ['-m', 'hrjax.main', f'--config={quick[0]}', f'--workdir={work}',
          '--config.synthetic.enabled=false', f'--config.data.root={root}',
          f'--config.data.store={store}', '--config.data.crop=none',
          '--config.data.split_fractions=(0.34,0.33,0.33)', '--progress=false'], work)
  model = base / 'runs' / 'model'
  model.mkdir(parents=True)
  (model / 'config.json').write_text('{"data": {"crop": "none", "clip_frames": 128}}')
  short = _ubfc(base / 'short video', n=60)
  yield ('predict: a video shorter than one clip',
         ['-m', 'hrjax.predict', f'--workdir={model}', f'--heart={short / "ground_truth.txt"}',
          f'--videos={short / "vid.mp4"}', f'--out={base / "runs" / "predicted.json"}',
          '--progress=false'], base / 'runs' / 'predicted.json')


def cases(base: Path):
  """(name, argv after the interpreter, the path the command must not leave behind)."""
  yield from broken_file_cases(base)
  yield from quirk_cases(base)
  yield from command_cases(base)


def run_case(name, argv, store: Path, base: Path) -> dict:
  proc = subprocess.Popen([sys.executable, *argv], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, cwd=ROOT)
  stderr = proc.stderr.read()
  _, status, usage = os.wait4(proc.pid, 0)
  proc.returncode = os.waitstatus_to_exitcode(status)
  lines = stderr.splitlines()
  errors = [ln for ln in lines if re.match(r'(extract|hrjax|predict): error:|FATAL Flags', ln)]
  warnings = [m[1] for ln in lines if (m := re.match(r'(?:W\d{4} [\d:.]+\s+\d+ \S+\] |'
                                                     r'WARNING:absl:)(.*)', ln))]
  message = (errors or warnings or ['(no warning)'])[0]
  leftovers = [p.name for p in store.parent.iterdir() if p.name.startswith(store.name)] \
      if store.parent.exists() else []
  if proc.returncode == 0 and leftovers == [store.name] and (store / 'header.json').is_file():
    leftovers = ['the store, complete']
  return dict(case=name, rc=proc.returncode, message=message.replace(str(base) + '/', ''),
              left=', '.join(leftovers) or 'nothing', rss_mb=usage.ru_maxrss / 1024)


def skip_bad_run(base: Path, failed: list[str]) -> str:
  """The failed UBFC-layout cases and one good recording in one folder, extracted with
  --skip_bad."""
  together = base / 'together'
  damaged = [base / name for name in failed if (base / name / 'subject1').is_dir()]
  _ubfc(together / 'good')
  folders = [together / 'good'] + damaged
  for i, src in enumerate(folders, start=1):
    shutil.copytree(src / 'subject1', together / f'subject{i}')
  shutil.rmtree(together / 'good')
  names = {f'subject{i}': src.name for i, src in enumerate(folders, start=1)}
  cmd = [sys.executable, str(ROOT / 'scripts' / 'extract.py'), '--dataset=ubfc_rppg',
         f'--root={together}', f'--store={base / "together-store"}', '--progress=false',
         '--clip_frames=32', '--split_fractions=0,0,1', '--crop=none', '--skip_bad']
  out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT).stdout
  legend = ', '.join(f'{k} = {v}' for k, v in names.items())
  return out.replace(str(together) + '/', '') + f'\n({legend})'


def main(argv):
  del argv
  base = Path(FLAGS.workdir or tempfile.mkdtemp(prefix='hrjax-bad-inputs-'))
  if base.exists():
    shutil.rmtree(base)
  base.mkdir(parents=True)
  print('| # | case | exit | message (the error, or the warning of a repair) | left at the '
        'store path | peak RSS MB (its largest process) |')
  print('| --- | --- | --- | --- | --- | --- |')
  failed = []
  for k, case in enumerate(cases(base), start=1):
    row = run_case(*case, base)
    if row['rc']:
      failed.append(row['case'])
    print(f"| {k} | {row['case']} | {row['rc']} | `{row['message']}` | {row['left']} | "
          f"{row['rss_mb']:.0f} |", flush=True)
  print('\nThe UBFC-layout cases together, with --skip_bad:\n')
  print(skip_bad_run(base, failed))


if __name__ == '__main__':
  app.run(main)
