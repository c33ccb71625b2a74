r"""Memory of a real training process: peak and steady resident memory of `python -m hrjax.main`
(the loop of `train_and_evaluate`: loader, checkpoints, TensorBoard and the final evaluation
included), with its step speed, under allocator settings given side by side.

  python scripts/train_memory.py --config configs/quick.py --steps 400 \
      --variant 'purge never=MIMALLOC_PURGE_DELAY=-1' \
      --variant 'purge 1 s=MIMALLOC_PURGE_DELAY=1000'

Each variant is `NAME=VAR=VALUE[;VAR=VALUE]` (empty: the environment as it is). Every run
trains from scratch in a temporary workdir on the config's existing store (build it first:
`python -m hrjax.main --config C --workdir W --mode data`). Memory is sampled every
`--every` seconds over the whole process tree (the program re-runs itself under its
allocator; grain workers are processes of their own): resident (VmRSS, the store's memory
map counted where touched) and anonymous (RssAnon, what the allocator holds), the latter
split by phase: start (compiles, first steps, up to the first checkpoint), training
(between the first checkpoint and the last; steady: the median of its second half) and
evaluation (after the last). Speed: clips/s between the first and the last checkpoint.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from absl import app, flags
from ml_collections import config_flags

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # configs/ import each other

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file('config', 'configs/quick.py', 'Experiment config (as for '
                                'hrjax.main; its own --config.X overrides are not passed on: '
                                'use --set).')
flags.DEFINE_integer('steps', 400, 'Train steps per run.')
flags.DEFINE_integer('checkpoint_every', 100, 'Checkpoint interval (speed is timed between '
                     'the first checkpoint and the last).')
flags.DEFINE_multi_string('variant', ['as is='], 'NAME=VAR=VALUE[;VAR=VALUE]: an environment '
                          'to run in (several: one run each, in order).')
flags.DEFINE_multi_string('set', [], 'Config override for every run, e.g. --set=data.workers=0.')
flags.DEFINE_float('every', 0.5, 'Seconds between memory samples.')
flags.DEFINE_string('timeline', '', 'Folder for each run\'s samples (CSV) and a plot of them '
                    '(PNG) with the moments the program logged (compiles, checkpoints).')


def tree_memory(pid: int) -> tuple[int, int, int]:
  """(VmRSS, RssAnon, RssAnon of the training process itself) in kB, summed over `pid`
  and its descendants (zeros once gone). The training process is the deepest one running
  Python's main loop: `pid` re-runs itself under its allocator (exec, same pid), so it is
  `pid` unless that started children; those are grain workers or ffmpeg."""
  rss = anon = own = 0
  todo = [pid]
  while todo:
    p = todo.pop()
    try:
      status = Path(f'/proc/{p}/status').read_text()
      # Children of every thread: grain starts its worker processes from a thread of its own.
      children = [c for task in Path(f'/proc/{p}/task').iterdir()
                  for c in (task / 'children').read_text().split()]
    except (FileNotFoundError, ProcessLookupError):
      continue
    for line in status.splitlines():
      if line.startswith('VmRSS:'):
        rss += int(line.split()[1])
      elif line.startswith('RssAnon:'):
        anon += int(line.split()[1])
        own += int(line.split()[1]) if p == pid else 0
    todo += [int(c) for c in children]
  return rss, anon, own


def parse_variant(text: str) -> tuple[str, dict[str, str]]:
  name, eq, rest = text.partition('=')
  if not eq:
    raise app.UsageError(f'--variant {text!r}: expected NAME=VAR=VALUE[;VAR=VALUE]')
  env = {}
  for item in (i for i in rest.split(';') if i):
    key, eq, value = item.partition('=')
    if not eq:
      raise app.UsageError(f'--variant {text!r}: {item!r} is not VAR=VALUE')
    env[key] = value
  return name, env


def run(name: str, env: dict[str, str]) -> dict:
  """One training run under `env`: memory samples, wall time and clips/s."""
  with tempfile.TemporaryDirectory(prefix='hrjax-memory-') as work:
    cmd = [sys.executable, '-m', 'hrjax.main', f'--config={_config_path()}', f'--workdir={work}',
           '--noprogress', '--stderrthreshold=info', f'--config.train.steps={FLAGS.steps}',
           f'--config.train.checkpoint_every={FLAGS.checkpoint_every}',
           # every checkpoint kept: the first one's time marks the end of the start phase
           f'--config.train.max_checkpoints={FLAGS.steps // FLAGS.checkpoint_every + 1}',
           *[f'--config.{s}' for s in FLAGS.set]]
    t0 = time.time()
    log = {'JAX_LOG_COMPILES': '1'} if FLAGS.timeline else {}  # each compile's moment
    proc = subprocess.Popen(cmd, env={**os.environ, **log, **env}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    logged = []  # (time, line): stderr read as it comes, so that lines carry their moment
    reader = threading.Thread(target=lambda: logged.extend(
        (time.time(), line.rstrip()) for line in proc.stderr), daemon=True)
    reader.start()
    samples = []
    while proc.poll() is None:
      samples.append((time.time(), *tree_memory(proc.pid)))
      time.sleep(FLAGS.every)
    reader.join()
    if proc.returncode:
      tail = '\n'.join(line for _, line in logged[-30:])
      raise SystemExit(f'{" ".join(cmd)} failed ({proc.returncode}):\n{tail}')
    ckpt = Path(work) / 'checkpoints'
    first, last = FLAGS.checkpoint_every, FLAGS.steps
    t_first, t_last = ((ckpt / str(k)).stat().st_mtime for k in (first, last))
  samples = [s for s in samples if s[1]]
  if FLAGS.timeline:
    write_timeline(Path(FLAGS.timeline), name, t0, samples, logged, (t_first, t_last))
  train = [s for s in samples if t_first <= s[0] <= t_last]
  mb = lambda values: max(values, default=0) / 1024  # noqa: E731
  return dict(wall_s=time.time() - t0, peak_rss_mb=mb(s[1] for s in samples),
              peak_anon_mb=mb(s[2] for s in samples),
              peak_own_mb=mb(s[3] for s in samples),
              start_anon_mb=mb(s[2] for s in samples if s[0] < t_first),
              train_anon_mb=mb(s[2] for s in train),
              steady_anon_mb=statistics.median([s[2] for s in train[len(train) // 2:]] or [0])
              / 1024,
              eval_anon_mb=mb(s[2] for s in samples if s[0] > t_last),
              clips_per_s=(last - first) * _batch_size() / (t_last - t_first))


def write_timeline(folder: Path, name: str, t0: float, samples, logged, checkpoints) -> None:
  """`folder/NAME.csv` (seconds, RSS, anonymous, the training process's own anonymous, MB)
  and `folder/NAME.png`: the curves with the first and last checkpoint marked;
  `folder/NAME-log.txt`: the program's log, each line with its second."""
  import matplotlib
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt
  folder.mkdir(parents=True, exist_ok=True)
  stem = ''.join(c if c.isalnum() else '-' for c in name).strip('-') or 'run'
  rows = [(t - t0, rss / 1024, anon / 1024, own / 1024) for t, rss, anon, own in samples]
  with open(folder / f'{stem}.csv', 'w') as f:
    f.write('seconds,rss_mb,anon_mb,training_process_anon_mb\n')
    f.writelines(f'{t:.2f},{a:.0f},{b:.0f},{c:.0f}\n' for t, a, b, c in rows)
  fig, ax = plt.subplots(figsize=(10, 4.5))
  for i, label in ((1, 'resident (tree)'), (2, 'anonymous (tree)'),
                   (3, 'anonymous (training process)')):
    ax.plot([r[0] for r in rows], [r[i] for r in rows], label=label)
  for t, label in zip(checkpoints, ('first checkpoint', 'last checkpoint')):
    ax.axvline(t - t0, color='k', ls='--', lw=0.8)
    ax.text(t - t0, ax.get_ylim()[1] * 0.98, label, rotation=90, va='top', fontsize=7)
  ax.set_xlabel('seconds since start')
  ax.set_ylabel('MB')
  ax.set_title(name)
  ax.legend(loc='lower right', fontsize=8)
  fig.tight_layout()
  fig.savefig(folder / f'{stem}.png', dpi=110)
  plt.close(fig)
  with open(folder / f'{stem}-log.txt', 'w') as f:
    f.writelines(f'{t - t0:8.2f}  {line}\n' for t, line in logged)


def _config_path() -> str:
  return config_flags.get_config_filename(FLAGS['config'])


def _batch_size() -> int:
  for s in FLAGS.set:
    key, _, value = s.partition('=')
    if key == 'train.batch_size':
      return int(value)
  return int(FLAGS.config.train.batch_size)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  variants = [parse_variant(v) for v in FLAGS.variant]
  print(f'{_config_path()}, {FLAGS.steps} steps from scratch, checkpoints every '
        f'{FLAGS.checkpoint_every}; memory of the process tree\n')
  print('| variant | environment | peak RSS MB | peak anonymous MB: whole run | of it, the '
        'training process | start (to the first checkpoint) | training | training, steady | '
        'evaluation | clips/s | wall s |')
  print('|' + ' --- |' * 11)
  for name, env in variants:
    r = run(name, env)
    shown = '; '.join(f'{k}={v}' for k, v in env.items()) or '(as is)'
    print(f'| {name} | {shown} | ' + ' | '.join(f'{r[k]:.0f}' for k in (
        'peak_rss_mb', 'peak_anon_mb', 'peak_own_mb', 'start_anon_mb', 'train_anon_mb',
        'steady_anon_mb', 'eval_anon_mb')) + f' | {r["clips_per_s"]:.1f} | {r["wall_s"]:.0f} |',
        flush=True)


if __name__ == '__main__':
  app.run(main)
