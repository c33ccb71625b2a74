"""Time the compiled train step and the evaluation encoders on random clips.

  python scripts/benchmark.py --config configs/quick.py
  python scripts/benchmark.py --config configs/gpu.py --json runs/bench-gpu.json

Prints one table row per measurement (median over repeats after warm-up, with
the spread as min-max) and writes the same as JSON. Runs on whatever devices
JAX sees (all of them, data-parallel).
"""

import json
import sys
import time
from pathlib import Path

import numpy as np
from absl import app, flags
from ml_collections import config_flags

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file('config', 'configs/quick.py', 'Experiment config.')
flags.DEFINE_integer('repeats', 5, 'Timed repeats (the median is reported).')
flags.DEFINE_integer('steps', 10, 'Train steps per repeat.')
flags.DEFINE_string('json', None, 'Write the results here as JSON.')


def random_batch(cfg, batch_size, seed=0):
  rng = np.random.default_rng(seed)
  t, s = cfg.data.clip_frames, cfg.data.size
  return dict(video=rng.integers(40, 220, (batch_size, t, s, s, 3)).astype(np.uint8),
              heart=np.stack([rng.normal(size=(batch_size, t)),
                              rng.uniform(50, 120, (batch_size, 1)) * np.ones((batch_size, t))],
                             -1).astype(np.float32),
              rr=np.tile(np.array([[0.8, 0.05]], np.float32), (batch_size, 1)))


def timed(fn, repeats):
  """Median and (min, max) wall time of fn() over repeats, after one warm-up call."""
  fn()
  times = []
  for _ in range(repeats):
    t0 = time.perf_counter()
    fn()
    times.append(time.perf_counter() - t0)
  return float(np.median(times)), (float(min(times)), float(max(times)))


def bench_train(cfg, repeats, steps):
  import jax

  from hrjax import parallel, train_step
  from hrjax.models.pairing import build_model
  mesh = parallel.data_mesh()
  model, tx = build_model(cfg), train_step.make_optimizer(cfg)
  batch = random_batch(cfg, cfg.train.batch_size)
  state = jax.device_put(train_step.init_state(model, tx, 0, batch), parallel.replicated(mesh))
  step = train_step.compile_train_step(model, tx, mesh)
  device_batch = parallel.put_batch(batch, mesh)
  flops = step.lower(state, device_batch).compile().cost_analysis()
  flops = float((flops[0] if isinstance(flops, list) else flops).get('flops', float('nan')))
  holder = {'state': state}

  def run():
    for _ in range(steps):
      holder['state'], metrics = step(holder['state'], device_batch)
    jax.block_until_ready(metrics)

  median, spread = timed(run, repeats)
  per_step = median / steps
  return dict(what='train step', batch=cfg.train.batch_size, ms=per_step * 1e3,
              spread_ms=[s / steps * 1e3 for s in spread],
              clips_per_s=cfg.train.batch_size / per_step,
              xla_gflops_per_step=flops / 1e9, gflop_per_s=flops / per_step / 1e9)


def bench_encode(cfg, repeats):
  import jax

  from hrjax import evaluate, parallel
  from hrjax.models.pairing import build_model
  mesh = parallel.data_mesh()
  model = build_model(cfg)
  batch = random_batch(cfg, cfg.eval.batch_size)
  params = jax.device_put(model.init(jax.random.key(0), batch['video'][:2], batch['heart'][:2],
                                     batch['rr'][:2])['params'], parallel.replicated(mesh))
  enc_v, _ = evaluate.compile_encoders(model, mesh)
  video = parallel.put_batch(batch, mesh)['video']
  median, spread = timed(lambda: jax.block_until_ready(enc_v(params, video)), repeats)
  return dict(what='encode videos', batch=cfg.eval.batch_size, ms=median * 1e3,
              spread_ms=[s * 1e3 for s in spread], clips_per_s=cfg.eval.batch_size / median)


def main(argv):
  del argv
  import jax
  cfg = FLAGS.config
  device = f'{jax.device_count()} x {jax.devices()[0].device_kind} ({jax.default_backend()})'
  rows = [bench_train(cfg, FLAGS.repeats, FLAGS.steps), bench_encode(cfg, FLAGS.repeats)]
  shape = (f'{cfg.data.clip_frames}x{cfg.data.size}x{cfg.data.size}, '
           f'channels {tuple(cfg.model.channels)}')
  print(f'hrjax benchmark on {device}; clips {shape}; jax {jax.__version__}')
  print(f"{'what':<16}{'batch':>6}{'ms':>10}{'min-max ms':>18}{'clips/s':>10}{'GFLOP/s':>10}")
  for r in rows:
    spread = f"{r['spread_ms'][0]:.1f}-{r['spread_ms'][1]:.1f}"
    print(f"{r['what']:<16}{r['batch']:>6}{r['ms']:>10.1f}{spread:>18}{r['clips_per_s']:>10.1f}"
          f"{r.get('gflop_per_s', float('nan')):>10.1f}")
  if FLAGS.json:
    Path(FLAGS.json).parent.mkdir(parents=True, exist_ok=True)
    Path(FLAGS.json).write_text(json.dumps(dict(device=device, shape=shape, rows=rows,
                                                jax=jax.__version__), indent=1))


if __name__ == '__main__':
  app.run(main)
