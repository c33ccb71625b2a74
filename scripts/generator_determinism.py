r"""Does the synthetic generator write the same files under different machine conditions?

  python scripts/generator_determinism.py [--subjects 6] [--duration_s 6]

Generates the same small dataset (configs/default.py's knobs, `--subjects` subjects) once
per condition, each in its own process, extracts it into a clip store (the default
config's settings), and compares with the first condition: video and heart files whose
SHA-256 differs, the largest difference of the decoded videos in grey levels, and the clip
values that differ. The conditions: as this machine runs it; numpy's AVX-512 kernels
switched off (as on a CPU without AVX-512, e.g. AMD Zen 2/3); OpenBLAS's Haswell kernels;
one CPU (taskset: x264 then picks its thread count from one core); and each ffmpeg
given with `--ffmpeg NAME=PATH` (another imageio-ffmpeg wheel's binary, say), which then
writes and reads the videos (`IMAGEIO_FFMPEG_EXE`).

  python scripts/generator_determinism.py --config quick \
      --ffmpeg 'imageio-ffmpeg 0.7.0=/tmp/ffmpeg-linux-x86_64-v7.0.2'
"""


import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from absl import app, flags

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

flags.DEFINE_integer('subjects', 6, 'Subjects to generate per condition.')
flags.DEFINE_float('duration_s', 6.0, 'Seconds per recording (at least one clip).')
flags.DEFINE_string('config', 'default', 'Config module in configs/ whose generator knobs and '
                    'extraction settings to use (quick: half the recordings web copies).')
flags.DEFINE_multi_string('ffmpeg', [], 'NAME=PATH: a condition run with this ffmpeg binary.')
FLAGS = flags.FLAGS

CONDITIONS = {
    'as is': ({}, []),
    # numpy 2.4's AVX-512 dispatch groups (`__cpu_dispatch__`); X86_V4 then reads False
    'numpy without AVX-512': ({'NPY_DISABLE_CPU_FEATURES': 'X86_V4 AVX512_ICL AVX512_SPR'}, []),
    "OpenBLAS's Haswell kernels (as on AMD Zen)": ({'OPENBLAS_CORETYPE': 'Haswell'}, []),
    'one CPU (taskset -c 0)': ({}, ['taskset', '-c', '0']),
}
_GENERATE = """
import json, sys
import importlib
from hrjax.data import prepare
from hrjax.data.synthetic import generate
cfg = importlib.import_module('configs.' + sys.argv[4]).get_config()
wanted = dict(prepare.synthetic_settings(cfg), num_subjects=int(sys.argv[2]),
              duration_s=float(sys.argv[3]))
generate.generate_dataset(sys.argv[1], progress=False, **wanted)
from hrjax.data import extract
settings = extract.ExtractSettings.from_config(cfg.data)
extract.extract('ubfc_rppg', sys.argv[1], sys.argv[1] + '-store', settings, progress=False)
"""


def _digests(root: Path) -> dict[str, str]:
  return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
          for p in sorted(root.rglob('*')) if p.is_file() and p.name != 'synthetic.json'}


def _store_difference(a: Path, b: Path) -> str:
  """The clip arrays of two stores: how many values differ, and by how much at most."""
  out = []
  for name in ('video', 'heart'):
    xs = [np.concatenate([np.load(s / split / f'{name}.npy', mmap_mode='r').reshape(-1)
                          for split in ('train', 'val', 'test')]).astype(float) for s in (a, b)]
    differ = xs[0] != xs[1]
    out.append(f'{name} {int(differ.sum())} of {differ.size}, at most '
               f'{float(np.abs(xs[0] - xs[1]).max()):.3g}')
  return '; '.join(out)


def _max_grey_difference(a: Path, b: Path) -> int:
  from hrjax.data import video_io
  fa, fb = (np.stack(list(video_io.iter_frames(p))).astype(int) for p in (a, b))
  return int(np.abs(fa - fb).max()) if fa.shape == fb.shape else -1


def main(argv):
  del argv
  base = Path(tempfile.mkdtemp(prefix='hrjax-determinism-'))
  roots, conditions = {}, dict(CONDITIONS)
  for item in FLAGS.ffmpeg:
    name, eq, path = item.partition('=')
    if not eq or not Path(path).is_file():
      raise app.UsageError(f'--ffmpeg {item!r}: expected NAME=PATH to an ffmpeg binary')
    conditions[name] = ({'IMAGEIO_FFMPEG_EXE': path}, [])
  for i, (name, (env, prefix)) in enumerate(conditions.items()):
    root = base / f'condition-{i}'
    cmd = [*prefix, sys.executable, '-c', _GENERATE, str(root), str(FLAGS.subjects),
           str(FLAGS.duration_s), FLAGS.config]
    subprocess.run(cmd, check=True, cwd=ROOT, env=dict(os.environ, **env))
    roots[name] = root
  first = next(iter(roots))
  reference = _digests(roots[first])
  print(f'configs/{FLAGS.config}.py, {FLAGS.subjects} subjects of {FLAGS.duration_s:g} s, '
        f'against "{first}"\n')
  print('| condition | video files differing | heart files differing | largest grey-level '
        'difference, decoded | clip store values differing |')
  print('| --- | --- | --- | --- | --- |')
  for name, root in roots.items():
    digests = _digests(root)
    store = _store_difference(Path(f'{roots[first]}-store'), Path(f'{root}-store'))
    differ = [k for k in reference if digests.get(k) != reference[k]]
    videos = [k for k in differ if k.endswith('.mp4')]
    grey = max((_max_grey_difference(roots[first] / k, root / k) for k in videos), default=0)
    print(f'| {name} | {len(videos)} of {sum(k.endswith(".mp4") for k in reference)} | '
          f'{len(differ) - len(videos)} | {grey} | {store} |', flush=True)
  print(json.dumps({'folder': str(base)}))


if __name__ == '__main__':
  app.run(main)
