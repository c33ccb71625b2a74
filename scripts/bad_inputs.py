r"""Try every kind of broken input on the extraction command and tabulate what it says.

  python scripts/bad_inputs.py [--workdir /tmp/hrjax-bad-inputs]

Each case writes a tiny dataset with one defect (tests/ingest_files.py makes the
files), runs `scripts/extract.py` on it as a user would, and records the exit
status, the error message and whether anything was left at the store path.
Prints a Markdown table.
"""

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


def _manifest(root: Path, row: str, header='subject,video,heart,kind,channel,start_code') -> Path:
  root.mkdir(parents=True, exist_ok=True)
  files.write_video(root / 'a.mp4', files.face_frames(240, (16, 16)))
  files.write_ecg(root / 'a.bdf', files.beats_for(10, 0), 10.0, triggers={'5': 1.0})
  (root / 'manifest.csv').write_text(f'{header}\n{row}\n')
  return root / 'manifest.csv'


def _truncate(p: Path) -> None:
  p.write_bytes(p.read_bytes()[:p.stat().st_size // 2])


def _zero_frames(p: Path) -> None:
  import imageio_ffmpeg
  p.unlink()
  writer = imageio_ffmpeg.write_frames(str(p), (16, 16), ffmpeg_log_level='error')
  writer.send(None)
  writer.close()


def cases(base: Path):
  """(name, dataset, root, extra flags) per broken input; files written on the way."""
  def ubfc(name, damage, extra=('--crop', 'none')):
    folder = _ubfc(base / name)
    damage(folder)
    return (name, 'ubfc_rppg', base / name, list(extra))

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
  _manifest(base / 'ecg-channel', 'p1,a.mp4,a.bdf,ecg,ECG,')
  yield ('missing ECG channel', 'manifest', base / 'ecg-channel', ['--crop', 'none'])
  _manifest(base / 'trigger', 'p1,a.mp4,a.bdf,ecg,EXG1-EXG2,9')
  yield ('missing trigger code', 'manifest', base / 'trigger', ['--crop', 'none'])
  _manifest(base / 'nan-csv', 'p1,a.mp4,p.csv,ppg,,')
  (base / 'nan-csv' / 'p.csv').write_text('t,ppg\n0,1\n0.1,nan\n0.2,3\n' + ''.join(
      f'{0.3 + i / 10},{i % 7}\n' for i in range(100)))
  yield ('NaN in a PPG table', 'manifest', base / 'nan-csv', ['--crop', 'none'])
  _manifest(base / 'columns', 'p1,a.mp4,a.bdf', header='subject,video,heart')
  yield ('manifest without a kind column', 'manifest', base / 'columns', [])
  yield ('wrong layout (PURE asked, UBFC given)', 'pure', base / 'truncated video', [])
  yield ('unknown layout name', 'ubfc', base / 'truncated video', [])
  (base / 'pure' / '01-01' / '01-01').mkdir(parents=True)
  (base / 'pure' / '01-01' / '01-01.json').write_text('{"/Image": [')
  yield ('broken PURE JSON', 'pure', base / 'pure', ['--crop', 'none'])


def run_case(name, dataset, root, extra, base: Path) -> dict:
  store = base / 'stores' / name.replace(' ', '_')
  cmd = [sys.executable, str(ROOT / 'scripts' / 'extract.py'), f'--dataset={dataset}',
         f'--root={root}', f'--store={store}', '--progress=false', '--clip_frames=32',
         '--split_fractions=0,0,1', *extra]
  proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
  errors = [ln for ln in proc.stderr.splitlines()
            if ln.startswith(('extract: error:', 'FATAL Flags'))]
  message = errors[0] if errors else (proc.stderr.strip().splitlines() or ['(none)'])[-1]
  leftovers = [p.name for p in store.parent.iterdir() if p.name.startswith(store.name)] \
      if store.parent.exists() else []
  return dict(case=name, rc=proc.returncode, message=message.replace(str(base) + '/', ''),
              left=', '.join(leftovers) or 'nothing')


def skip_bad_run(base: Path) -> str:
  """All UBFC-layout cases and one good recording in one folder, extracted with --skip_bad."""
  together = base / 'together'
  damaged = sorted(p.parent for p in base.glob('*/subject1') if p.parent != together)
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
  print('| case | exit | message | left at the store path |')
  print('| --- | --- | --- | --- |')
  for case in cases(base):
    row = run_case(*case, base)
    print(f"| {row['case']} | {row['rc']} | `{row['message']}` | {row['left']} |", flush=True)
  print('\nThe UBFC-layout cases together, with --skip_bad:\n')
  print(skip_bad_run(base))


if __name__ == '__main__':
  app.run(main)
