r"""Benchmark suite: train step, matmul peak, loader, extraction, evaluation, memory.

  python scripts/benchmark.py --config configs/quick.py            # make bench
  python scripts/benchmark.py --config configs/gpu.py --only train,encode,matmul
  python scripts/benchmark.py --store data/synthetic-default/store --json runs/bench.json

Each measurement runs in its own process (so its peak RSS is its own), warms up,
then reports the median over --repeats with the spread (min-max). Rows:

  matmul     a large float32 matmul: the machine's practical peak GFLOP/s (the fastest
             of 4 x --repeats repeats; the table shows their median)
  copy       a 1 GiB array read and written by a compiled op: the machine's memory
             bandwidth in GB/s (the fastest of 4 x --repeats repeats, as for matmul)
  train      the compiled train step on random clips: clips/s, GFLOP/s by XLA's cost
             analysis and counted by hand (`analytic_train_flops`), each as a share
             of the matmul peak of this run; bytes moved by XLA's cost analysis (every
             op's operands and results), as a share of the copy bandwidth
  torch      the same network, loss and optimizer in PyTorch (scripts/torch_twin.py), when
             torch is installed, on the GPU where it sees one (bf16 autocast where the
             config computes in bfloat16); train and torch rows run twice, alternating,
             and the ratio of their times is printed
  encode     the evaluation video encoder: clips/s
  loader     the grain train iterator alone over --store: batches/s, and how many
             times the train step's consumption (train clips/s / batch) it delivers
  extract    extraction (decode, crop, resample) of --extract_videos videos of the
             store's dataset vs plain imageio-ffmpeg decoding of the same files to RGB,
             and vs decoding them to their own YUV planes (extraction's input), one
             recording after another; then in extract's worker processes (one per CPU)
             against as many plain decodings side by side: frames/s; the five are
             timed in turn, --repeats/2 rounds, and each round's ratio printed
  evaluate   every heart against every video of the store's test split: pairs/s
  training   a whole training process on --store (200 steps from scratch: loader,
             checkpoints, TensorBoard, evaluation), once: the loop's own clips/s (its
             logs after the first), as a share of the train row's; the bytes each step
             sends to the devices (clips kept there or not: --config.data.on_device);
             its peak RSS (the step rows' peak RSS is the bare step's)
Rows that need a store are skipped when there is none. Runs on whatever devices
JAX sees (all of them, data-parallel). Every row, PyTorch's too, runs with the
allocator `python -m hrjax.main` gives itself (`hrjax.allocator`: mimalloc
preloaded where installed, else glibc with huge pages; HRJAX_MALLOC_TUNING=0 and
your own GLIBC_TUNABLES compare others; see docs/performance.md, CPU memory).
"""

import functools
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from absl import app, flags
from ml_collections import config_flags

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'scripts'))

import benchmark_rows  # noqa: E402

from hrjax import allocator  # noqa: E402

ROWS = ('matmul', 'copy', 'train', 'torch', 'encode', 'loader', 'extract', 'evaluate', 'training')
FLAGS = flags.FLAGS
config_flags.DEFINE_config_file('config', 'configs/quick.py', 'Experiment config.')
flags.DEFINE_integer('repeats', 5, 'Timed repeats (the median is reported).')
flags.DEFINE_integer('steps', 10, 'Train steps per repeat.')
flags.DEFINE_list('only', list(ROWS), f'Rows to run, of {", ".join(ROWS)}.')
flags.DEFINE_string('store', None, "Clip store for loader/extract/evaluate (default: the "
                    "config's, if it exists).")
flags.DEFINE_integer('extract_videos', 3, 'Videos of the dataset to extract and decode.')
flags.DEFINE_string('json', None, 'Write the results here as JSON.')
flags.DEFINE_string('row_out', None, 'Internal: run one row and write it here.')


def run_row(name, cfg, store):
  fn = getattr(benchmark_rows, f'bench_{name}')
  args = (cfg, FLAGS.repeats, FLAGS.steps) + ((store,) if name in (
      'loader', 'extract', 'evaluate', 'training') else ())
  row = fn(*args, **({'videos': FLAGS.extract_videos} if name == 'extract' else {}))
  row['peak_rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
  return row


@functools.cache
def _row_environ() -> dict[str, str]:
  """Every row, PyTorch's too, runs as `python -m hrjax.main` re-runs itself: under its
  allocator (allocator.malloc_env), which the row's process keeps from the programs it
  starts (allocator.tune_malloc). Worked out once, in the parent process."""
  return allocator.rerun_environ() or dict(os.environ)


def _child(name, argv) -> dict | None:
  """Run one row in a fresh process; None if it failed (its error is printed)."""
  with tempfile.TemporaryDirectory() as tmp:
    out = Path(tmp) / 'row.json'
    proc = subprocess.run([sys.executable, __file__, *argv[1:], f'--only={name}',
                           f'--row_out={out}'], cwd=ROOT, capture_output=True, text=True,
                          env=_row_environ())
    if proc.returncode != 0 or not out.exists():
      print(f'benchmark {name} failed:\n{proc.stderr[-2000:]}', file=sys.stderr)
      return None
    return json.loads(out.read_text())


def _merge_repeated(rows):
  """Rows run more than once (alternating train/torch): one row, mean of the medians."""
  merged = {}
  for r in rows:
    if r['what'] in merged:
      m = merged[r['what']]
      m['runs_ms'].append(r['ms'])
      m['ms'] = float(np.mean(m['runs_ms']))
      m['rate'] = m['rate'] * m['per_run_ms'] / m['ms']
      m['spread_ms'] = [min(m['spread_ms'][0], r['spread_ms'][0]),
                        max(m['spread_ms'][1], r['spread_ms'][1])]
      for k in ('gflop_per_s', 'analytic_gflop_per_s'):
        if k in m:
          m[k] = m[k] * m['per_run_ms'] / m['ms']
      runs = len(m['runs_ms'])
      for k in ('user_ms_per_step', 'system_ms_per_step'):  # mean over the runs
        if k in m:
          m[k] = (m[k] * (runs - 1) + r[k]) / runs
      m['per_run_ms'] = m['ms']
    else:
      merged[r['what']] = dict(r, runs_ms=[r['ms']], per_run_ms=r['ms'])
  return list(merged.values())


def _format(rows) -> str:
  lines = [f"{'what':<26}{'ms':>10}{'min-max ms':>18}{'rate':>12}  {'unit':<10}{'RSS MB':>8}"]
  for r in rows:
    spread = f"{r['spread_ms'][0]:.1f}-{r['spread_ms'][1]:.1f}"
    lines.append(f"{r['what']:<26}{r['ms']:>10.1f}{spread:>18}{r['rate']:>12.1f}  "
                 f"{r['unit']:<10}{r['peak_rss_mb']:>8.0f}")
  return '\n'.join(lines)


def _ratios(rows) -> list[str]:
  by = {r['what'].split(' ')[0]: r for r in rows}
  out = []
  if 'train' in by:
    t = by['train']
    out.append(f"train step: {t['gflop_per_s']:.1f} GFLOP/s by XLA's count "
               f"({t['xla_gflop_per_step']:.2f} GFLOP/step), {t['analytic_gflop_per_s']:.1f} "
               f"counted by hand ({t['analytic_gflop_per_step']:.2f} GFLOP/step); "
               f"compiling it took {t['compile_s']:.1f} s")
    if 'matmul' in by:
      m = by['matmul']
      peak = m['peak_gflop_per_s']
      out.append(f"train step / matmul peak ({peak:.1f} GFLOP/s, the fastest of "
                 f"{m['repeats']} matmul repeats): {t['gflop_per_s'] / peak:.1%} (XLA's count), "
                 f"{t['analytic_gflop_per_s'] / peak:.1%} (by hand)")
    if 'copy' in by:
      bandwidth = by['copy']['peak_gb_per_s']
      out.append(f"train step moves {t['xla_gb_per_step']:.2f} GB per step by XLA's count: "
                 f"{t['gb_per_s']:.1f} GB/s, {t['gb_per_s'] / bandwidth:.1%} of the copy "
                 f"bandwidth ({bandwidth:.1f} GB/s, the fastest of {by['copy']['repeats']})")
      if 'matmul' in by:
        shares = {'memory bandwidth': t['gb_per_s'] / bandwidth,
                  'matmul peak': t['gflop_per_s'] / by['matmul']['peak_gflop_per_s']}
        closer = max(shares, key=shares.get)
        out.append(f"the step is nearer its {closer} ({shares[closer]:.1%}) than its "
                   f"{min(shares, key=shares.get)} ({min(shares.values()):.1%})")
        if shares['memory bandwidth'] > 1:  # XLA counts every operand, cached or not
          out.append("  (over 100%: part of what XLA counts stays in the caches, so neither "
                     "limit binds alone; scripts/step_profile.py says where the time goes)")
    if 'grain' in by:
      consumed = t['rate'] / t['batch']
      out.append(f"loader delivers {by['grain']['rate']:.1f} batches/s; the step consumes "
                 f"{consumed:.1f}: {by['grain']['rate'] / consumed:.1f}x")
  if 'training' in by:
    r = by['training']
    kept = 'kept on the devices' if r['on_device'] else 'sent from the host'
    line = (f"training loop {r['rate']:.1f} clips/s (the whole process {r['process_wall_s']:.1f} "
            f"s); clips {kept}: {r['host_to_device_bytes_per_step']:,} bytes per step to the "
            "devices")
    if 'train' in by:
      step = by['train']['rate']
      line += f"; {r['rate'] / step:.1%} of the train step's {step:.1f}"
    out.append(line)
  for name in ('train', 'torch'):
    if name in by and 'system_ms_per_step' in by[name]:
      r = by[name]
      out.append(f"{r['what']}: CPU time per step {r['user_ms_per_step']:.1f} ms user, "
                 f"{r['system_ms_per_step']:.1f} ms system (all threads; wall {r['ms']:.1f} ms)")
  if 'train' in by and 'torch' in by:
    t, p = by['train'], by['torch']
    runs = lambda r: ', '.join(f'{ms:.1f}' for ms in r['runs_ms'])
    out.append(f"PyTorch step {p['ms']:.1f} ms ({p['analytic_gflop_per_s']:.1f} GFLOP/s by "
               f"hand), hrjax {t['ms']:.1f} ms: hrjax/PyTorch speed {p['ms'] / t['ms']:.2f}x "
               f"(alternating runs, ms: hrjax {runs(t)}; torch {runs(p)})")
  if 'extract' in by:
    out += _extract_ratios(by['extract'])
  return out


def _extract_ratios(e) -> list[str]:
  """Extraction against plain decoding, each way the row measured it; with the ratio of
  each alternating round where the row has them."""
  rounds = lambda key: (f" (rounds: {', '.join(f'{r:.2f}' for r in e[key])})"
                        if len(e.get(key, ())) > 1 else '')
  out = [f"extraction {e['rate']:.0f} frames/s vs plain decode "
         f"{e['plain_decode_frames_per_s']:.0f} frames/s: "
         f"{e['rate'] / e['plain_decode_frames_per_s']:.2f}x" + rounds('vs_plain_per_round')]
  if 'plain_planes_frames_per_s' in e:
    out.append(f"  vs decoding to the stream's own planes as extraction does (no RGB conversion) "
               f"{e['plain_planes_frames_per_s']:.0f} frames/s: "
               f"{e['rate'] / e['plain_planes_frames_per_s']:.2f}x")
  if 'workers_frames_per_s' in e:
    out.append(f"  in {e['workers']} worker processes (extract's path) "
               f"{e['workers_frames_per_s']:.0f} frames/s vs {e['workers']} plain decodings "
               f"side by side {e['plain_side_by_side_frames_per_s']:.0f}: "
               f"{e['workers_frames_per_s'] / e['plain_side_by_side_frames_per_s']:.2f}x"
               + rounds('workers_vs_side_per_round'))
  return out


def _allocator() -> str:
  """The allocator settings the rows run under, in words."""
  env = _row_environ()
  if 'mimalloc' in env.get('LD_PRELOAD', ''):
    return f"mimalloc (MIMALLOC_PURGE_DELAY={env.get('MIMALLOC_PURGE_DELAY')})"
  return f"glibc (GLIBC_TUNABLES={env.get('GLIBC_TUNABLES', '')})"


def main(argv):
  import jax
  cfg = FLAGS.config
  store = FLAGS.store or cfg.data.store
  store = store if Path(store, 'header.json').exists() else None
  if FLAGS.row_out:
    allocator.tune_malloc()  # a row's process: the preload stays out of the programs it starts
    Path(FLAGS.row_out).write_text(json.dumps(run_row(FLAGS.only[0], cfg, store)))
    return
  unknown = set(FLAGS.only) - set(ROWS)
  if unknown:
    raise app.UsageError(f'unknown rows {sorted(unknown)}; known: {", ".join(ROWS)}')
  device = f'{jax.device_count()} x {jax.devices()[0].device_kind} ({jax.default_backend()})'
  shape = (f'{cfg.data.clip_frames}x{cfg.data.size}x{cfg.data.size}, '
           f'channels {tuple(cfg.model.channels)}')
  print(f'hrjax benchmark on {device}; clips {shape}, batch {cfg.train.batch_size}, '
        f'encode_chunk {cfg.model.encode_chunk}; jax {jax.__version__}; '
        f'allocator {_allocator()}; store {store or "none (the rows that need one skipped)"}',
        flush=True)
  names = [r for r in ROWS if r in FLAGS.only]
  if 'torch' in names and importlib.util.find_spec('torch') is None:
    print('torch is not installed: the PyTorch comparison is skipped')
    names.remove('torch')
  if 'torch' in names and 'train' in names:  # alternate: train, torch, train, torch
    names = names[:names.index('train')] + ['train', 'torch', 'train', 'torch'] + [
        n for n in names[names.index('train') + 1:] if n != 'torch']
  rows = []
  for name in names:
    if name in ('loader', 'extract', 'evaluate', 'training') and store is None:
      continue
    row = _child(name, sys.argv)
    if row:
      rows.append(row)
  rows = _merge_repeated(rows)
  print(_format(rows))
  for line in _ratios(rows):
    print(line)
  if FLAGS.json:
    Path(FLAGS.json).parent.mkdir(parents=True, exist_ok=True)
    Path(FLAGS.json).write_text(json.dumps(dict(device=device, shape=shape, rows=rows,
                                                store=store, jax=jax.__version__,
                                                allocator=_allocator(),
                                                ratios=_ratios(rows)), indent=1))


if __name__ == '__main__':
  app.run(main)
