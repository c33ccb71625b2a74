"""The benchmark's rows, each a function `bench_NAME(cfg, repeats, steps[, store])` that
returns one row (`scripts/benchmark.py` runs each in its own process)."""

import functools
import resource
import time
from pathlib import Path

import numpy as np


def random_batch(cfg, batch_size, seed=0, augment=False):
  """Random clips of the config's shape; with `augment`, the flips and shifts the loader
  draws beside them (`cfg.train.augment`), which the train step then makes."""
  rng = np.random.default_rng(seed)
  t, s = cfg.data.clip_frames, cfg.data.size
  batch = dict(video=rng.integers(40, 220, (batch_size, t, s, s, 3)).astype(np.uint8),
               heart=np.stack([rng.normal(size=(batch_size, t)),
                               rng.uniform(50, 120, (batch_size, 1)) * np.ones((batch_size, t))],
                              -1).astype(np.float32),
               rr=np.tile(np.array([[0.8, 0.05]], np.float32), (batch_size, 1)))
  if augment:
    from hrjax.data import pipeline
    batch['flip'], batch['shift'] = pipeline.flips_and_shifts(rng, batch_size)
  return batch


CPU_TIME = {}  # of the last `timed`: user and system CPU seconds per call (all threads)


def timed(fn, repeats):
  """Median and (min, max) wall time of fn() over repeats, after one warm-up call."""
  fn()
  before = resource.getrusage(resource.RUSAGE_SELF)
  times = alternating({'fn': fn}, repeats, warm_up=False)['fn']
  after = resource.getrusage(resource.RUSAGE_SELF)
  CPU_TIME.update(user=(after.ru_utime - before.ru_utime) / repeats,
                  system=(after.ru_stime - before.ru_stime) / repeats)
  return float(np.median(times)), (float(min(times)), float(max(times)))


def _row(what, unit, median_s, spread_s, per_call, **extra):
  """A row: `per_call` units per timed call (clips, batches, frames, pairs, flops)."""
  return dict(what=what, unit=unit, ms=median_s * 1e3, spread_ms=[s * 1e3 for s in spread_s],
              rate=per_call / median_s, **extra)


def analytic_train_flops(cfg, batch: int) -> float:
  """FLOPs of one train step counted from the network the package builds (2 per
  multiply-add): every (2+1)D block's spatial conv (and the first block's per-clip
  context), temporal conv and projection, from its weight shapes and output size;
  backward = 2x forward, except the first layer, whose input (the video) needs no
  gradient. The heart branch, pooling and the score are left out (under 1% here)."""
  import jax

  from hrjax.models import layers
  from hrjax.models.pairing import build_model
  model = build_model(cfg, backend='gpu')  # channel-last blocks: outputs [B, T, H', W', C]
  example = random_batch(cfg, batch)
  variables = jax.eval_shape(model.init, jax.random.key(0), example['video'], example['heart'],
                             example['rr'])
  _, inter = jax.eval_shape(functools.partial(
      model.apply, method=model.encode_video, capture_intermediates=lambda mdl, _: isinstance(
          mdl, layers.FactorisedBlock)), variables, example['video'])
  params = variables['params']['video_encoder']
  size = lambda name, p: float(np.prod(params[name][p].shape)) if p in params[name] else 0.0
  fwd = first = 0.0
  for name in sorted(k for k in params if k.startswith('block')):
    b, t, h, w, _ = inter['intermediates']['video_encoder'][name]['__call__'][0].shape
    spatial = 2 * b * t * h * w * size(name, 'spatial') + 2 * b * h * w * size(
        name, 'spatial_context')
    fwd += spatial + 2 * b * t * h * w * (size(name, 'temporal') + size(name, 'project'))
    first = first or spatial
  return 3 * fwd - first


def bench_matmul(cfg, repeats, steps):
  import jax
  import jax.numpy as jnp
  n = 2048 if jax.default_backend() == 'cpu' else 8192
  a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
  mm = jax.jit(lambda x: x @ x)
  # A peak is the best the machine does: the share of it below is taken against the fastest
  # of many repeats (a median caught in a slow spell of a shared machine would flatter it).
  median, spread = timed(lambda: jax.block_until_ready(mm(a)), 4 * repeats)
  return _row(f'matmul {n}^2 f32', 'GFLOP/s', median, spread, 2 * n**3 / 1e9,
              peak_gflop_per_s=2 * n**3 / 1e9 / spread[0], repeats=4 * repeats)


def bench_copy(cfg, repeats, steps):
  """The machine's memory bandwidth as a compiled copy achieves it: a 1 GiB float32 array
  (far past the caches) read and written once per call (`x + 1` under jit, XLA's threads),
  counted as 2 GiB moved. The best of 4 x repeats, as the matmul peak is."""
  import jax
  import jax.numpy as jnp
  n = 1 << 28  # float32 values: 1 GiB
  x = jnp.zeros((n,), jnp.float32)
  copy = jax.jit(lambda v: v + 1.0)
  jax.block_until_ready(copy(x))
  median, spread = timed(lambda: jax.block_until_ready(copy(x)), 4 * repeats)
  moved = 2 * 4 * n / 1e9
  return _row('copy 1 GiB f32', 'GB/s', median, spread, moved,
              peak_gb_per_s=moved / spread[0], repeats=4 * repeats)


def compiled_train_step(cfg):
  """The config's train step compiled ahead of time for a random batch of its shape, as the
  training loop builds it: (executable, state, batch on the devices, compile seconds).
  The executable gives XLA's cost analysis and HLO (calling the jit'd function instead
  would compile the step a second time)."""
  import jax

  from hrjax.models.pairing import build_model
  from hrjax.training import parallel
  from hrjax.training import state as train_state
  from hrjax.training import step as train_step
  mesh = parallel.data_mesh()
  model, tx = build_model(cfg), train_state.make_optimizer(cfg)
  batch = random_batch(cfg, cfg.train.batch_size, augment=cfg.train.augment)
  state = jax.device_put(train_state.init_state(model, tx, 0, batch), parallel.replicated(mesh))
  device_batch = parallel.put_batch(batch, mesh)
  started = time.perf_counter()
  step = train_step.compile_config_step(model, tx, mesh, cfg.train).lower(
      state, device_batch).compile()
  return step, state, device_batch, time.perf_counter() - started


def bench_train(cfg, repeats, steps):
  import jax
  step, state, device_batch, compile_s = compiled_train_step(cfg)  # trace + XLA compile
  cost = step.cost_analysis()
  cost = cost[0] if isinstance(cost, list) else cost
  flops = float(cost.get('flops', float('nan')))
  moved = float(cost.get('bytes accessed', float('nan')))  # every op's operands and results
  holder = {'state': state}

  def run():
    for _ in range(steps):
      holder['state'], metrics = step(holder['state'], device_batch)
    jax.block_until_ready(metrics)

  median, spread = timed(run, repeats)
  per_step = median / steps
  analytic = analytic_train_flops(cfg, cfg.train.batch_size)
  return _row('train step', 'clips/s', per_step, [s / steps for s in spread],
              cfg.train.batch_size, batch=cfg.train.batch_size,
              user_ms_per_step=CPU_TIME['user'] / steps * 1e3,
              system_ms_per_step=CPU_TIME['system'] / steps * 1e3,
              xla_gflop_per_step=flops / 1e9, gflop_per_s=flops / per_step / 1e9,
              xla_gb_per_step=moved / 1e9, gb_per_s=moved / per_step / 1e9,
              compile_s=compile_s,
              analytic_gflop_per_step=analytic / 1e9,
              analytic_gflop_per_s=analytic / per_step / 1e9)


def bench_torch(cfg, repeats, steps):
  import torch
  import torch_twin

  from hrjax.models import pairing
  device = torch_twin.pick_device()  # autocast where hrjax's blocks compute in bfloat16 there
  bfloat16 = (device == 'cuda'
              and pairing.compute_dtype(cfg.model.compute_dtype, cpu=False) == 'bfloat16')
  step, n_params = torch_twin.make_step(cfg.train.batch_size, cfg.data.clip_frames,
                                        cfg.data.size, cfg.model.channels,
                                        cfg.train.learning_rate, device, bfloat16)

  def run():
    for _ in range(steps):
      step()
    if device == 'cuda':
      torch.cuda.synchronize()

  median, spread = timed(run, repeats)
  per_step = median / steps
  analytic = analytic_train_flops(cfg, cfg.train.batch_size)
  what = f"torch {torch.__version__} {device}{' bf16' if bfloat16 else ''}"
  return _row(what, 'clips/s', per_step, [s / steps for s in spread],
              cfg.train.batch_size, batch=cfg.train.batch_size, parameters=n_params,
              user_ms_per_step=CPU_TIME['user'] / steps * 1e3,
              system_ms_per_step=CPU_TIME['system'] / steps * 1e3,
              threads=torch.get_num_threads(), analytic_gflop_per_s=analytic / per_step / 1e9)


def bench_encode(cfg, repeats, steps):
  import jax

  from hrjax.evaluation import scoring
  from hrjax.models.pairing import build_model
  from hrjax.training import parallel
  mesh = parallel.data_mesh()
  model = build_model(cfg)
  batch = random_batch(cfg, cfg.eval.batch_size)
  params = jax.device_put(model.init(jax.random.key(0), batch['video'][:2], batch['heart'][:2],
                                     batch['rr'][:2])['params'], parallel.replicated(mesh))
  enc_v = scoring.compile_scoring(model, mesh).encode_video
  video = parallel.put_batch(batch, mesh)['video']
  median, spread = timed(lambda: jax.block_until_ready(enc_v(params, video)), repeats)
  return _row('encode videos', 'clips/s', median, spread, cfg.eval.batch_size,
              batch=cfg.eval.batch_size)


def bench_loader(cfg, repeats, steps, store):
  from hrjax.data import pipeline
  batches = pipeline.SubjectBatches(store, 'train', cfg.train.batch_size, cfg.seed,
                                    cfg.train.augment, colour_mix=cfg.train.colour_mix)
  it = pipeline.train_iterator(batches, 10**6, cfg.data.workers, cfg.data.read_ahead,
                               cfg.data.read_threads)
  n = 200  # batches per timed repeat: 20 left the median at the mercy of thread scheduling

  def drain():  # each batch dropped as the next comes, as the train loop does
    for _ in range(n):
      next(it)

  median, spread = timed(drain, repeats)
  return _row('grain loader', 'batches/s', median, spread, n, batch=cfg.train.batch_size,
              workers=cfg.data.workers)


def bench_training(cfg, repeats, steps, store, training_steps=200):
  """A whole training process, as `python -m hrjax.main` runs it: `training_steps` steps
  from scratch with its loader, a checkpoint every 100 steps, TensorBoard and the final
  evaluation, once. Its rate is the loop's own (clips/s between its logs, the first log,
  which holds the compile, left out), against which the train row's step is the limit;
  also what each step sends to the devices (`config.data.on_device`)."""
  import tempfile

  from hrjax.training import train
  from hrjax.training.writer import MetricWriter

  class Recording(MetricWriter):  # TensorBoard as the loop writes it, its scalars kept
    def __init__(self, logdir):
      super().__init__(logdir)
      self.rates, self.last = [], {}

    def write_scalars(self, step, scalars):
      if 'train/clips_per_s' in scalars:
        self.rates.append(scalars['train/clips_per_s'])
      self.last.update(scalars)
      super().write_scalars(step, scalars)

  cfg = cfg.copy_and_resolve_references()
  cfg.data.store = str(store)
  cfg.train.steps, cfg.train.checkpoint_every = training_steps, 100
  with tempfile.TemporaryDirectory() as workdir:
    started = time.perf_counter()
    writer = Recording(Path(workdir) / 'tensorboard')
    train.train_and_evaluate(cfg, workdir, progress=False, writer=writer)
    wall = time.perf_counter() - started
  on_device = bool(writer.last['train/clips_on_device'])  # what the loop itself reported
  sent = int(writer.last['train/host_to_device_bytes_per_step'])
  rates = writer.rates[1:] or writer.rates
  batch = cfg.train.batch_size
  return _row(f'training loop ({training_steps} steps)', 'clips/s', batch / np.median(rates),
              (batch / max(rates), batch / min(rates)), batch, batch=batch,
              process_wall_s=wall, logged_rates=rates, on_device=on_device,
              host_to_device_bytes_per_step=sent)


def bench_extract(cfg, repeats, steps, store, videos=3):
  """Extraction of the store's first `videos` recordings against plain decoding of them:
  one recording after another in this process, and as `extract` runs them, side by side in
  its worker processes (one per CPU) against as many plain decodings side by side."""
  import concurrent.futures
  import dataclasses

  import imageio_ffmpeg

  from hrjax.data import adapters, clip_store, extract, video_io, worker_pool
  header = clip_store.read_header(store)
  settings = extract.ExtractSettings(**{**header['settings'], 'split_fractions': tuple(
      header['settings']['split_fractions'])})
  recordings = adapters.find_recordings(header['dataset'], header['root'])[:videos]
  workers = worker_pool.worker_count(0, len(recordings))
  count = {}

  def decode(r):
    return sum(1 for _ in imageio_ffmpeg.read_frames(str(r.video))) - 1  # 1st item: metadata

  def plain():
    count['frames'] = sum(decode(r) for r in recordings)

  def plain_planes():  # the cheapest decoding: the stream's own planes, by extraction's route
    for r in recordings:
      for _ in video_io.iter_frames(r.video, planes=True):
        pass

  def ours():
    for r in recordings:
      extract.decode_recording(r, settings, progress=False)

  def plain_side_by_side():
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:  # ffmpeg's pipes free the GIL
      list(pool.map(decode, recordings))

  def ours_in_workers():  # extraction's own path: decode, crop, cut clips, in worker processes
    strides = [settings.eval_stride] * len(recordings)
    results = extract._recording_results(recordings, strides, settings, False, False, workers,
                                         (header['dataset'], header['root'], None))
    for result in results:
      if isinstance(result, Exception):
        raise result

  rounds = alternating(dict(plain=plain, planes=plain_planes, ours=ours,
                            side=plain_side_by_side, workers=ours_in_workers),
                       max(1, repeats // 2))
  med = {name: float(np.median(times)) for name, times in rounds.items()}
  per_round = lambda num, den: [a / b for a, b in zip(rounds[num], rounds[den])]
  ours_spread = (min(rounds['ours']), max(rounds['ours']))
  return _row(f'extract ({settings.crop} crop)', 'frames/s', med['ours'], ours_spread,
              count['frames'], videos=len(recordings), frames=count['frames'],
              plain_decode_frames_per_s=count['frames'] / med['plain'],
              plain_spread_ms=[min(rounds['plain']) * 1e3, max(rounds['plain']) * 1e3],
              plain_planes_frames_per_s=count['frames'] / med['planes'],
              workers=workers, workers_frames_per_s=count['frames'] / med['workers'],
              plain_side_by_side_frames_per_s=count['frames'] / med['side'],
              vs_plain_per_round=per_round('plain', 'ours'),
              workers_vs_side_per_round=per_round('side', 'workers'),
              settings=dataclasses.asdict(settings)['crop'])


def alternating(fns: dict, rounds: int, warm_up: bool = True) -> dict[str, list[float]]:
  """Wall seconds of each of `fns` over `rounds` rounds, each round calling them in turn
  (after one warm-up call each, unless `warm_up` is False): a ratio taken within a round
  sees the machine in one state, where timing each alone, one after another, let the
  hour's drift into it."""
  if warm_up:
    for fn in fns.values():
      fn()
  times = {name: [] for name in fns}
  for _ in range(rounds):
    for name, fn in fns.items():
      t0 = time.perf_counter()
      fn()
      times[name].append(time.perf_counter() - t0)
  return times


def bench_evaluate(cfg, repeats, steps, store):
  import jax

  from hrjax.data import clip_store
  from hrjax.evaluation import scoring
  from hrjax.models.pairing import build_model
  from hrjax.training import parallel
  mesh = parallel.data_mesh()
  model = build_model(cfg)
  split = clip_store.open_split(store, 'test')
  batch = random_batch(cfg, 2)
  params = jax.device_put(model.init(jax.random.key(0), batch['video'], batch['heart'],
                                     batch['rr'])['params'], parallel.replicated(mesh))
  median, spread = timed(
      lambda: scoring.learned_scores(model, params, split, cfg.eval.batch_size, mesh),
      max(1, repeats // 2))
  return _row('evaluate (learned)', 'pairs/s', median, spread, len(split) ** 2,
              clips=len(split))
