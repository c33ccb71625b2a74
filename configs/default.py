"""Default experiment: synthetic faces (`default` difficulty), waveform heart, CPU-sized.

  python -m hrjax.main --config configs/default.py --workdir runs/default
  python -m hrjax.main --config configs/default.py:hard --workdir runs/hard   # difficulty

The argument after ':' picks the synthetic difficulty (easy, default, hard).
Any field can be overridden: --config.train.steps=2000 --config.model.representation=hr
"""

import ml_collections

from hrjax.data.synthetic import presets


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  difficulty = arg or 'default'
  if difficulty not in presets.PRESETS:
    raise ValueError(f'unknown difficulty {difficulty!r}; known: {", ".join(presets.PRESETS)}')
  c = ml_collections.ConfigDict()
  c.seed = 0

  # Data: a dataset folder (raw files) -> a clip store. With `synthetic.enabled`,
  # a missing dataset folder is generated first.
  c.data = ml_collections.ConfigDict()
  c.data.dataset = 'ubfc_rppg'  # adapter name; the generator writes this layout
  c.data.root = f'data/synthetic-{difficulty}/raw'
  c.data.store = f'data/synthetic-{difficulty}/store'
  c.data.fps = 30.0
  c.data.clip_frames = 128
  c.data.size = 36
  c.data.crop = 'center'
  c.data.crop_fraction = 0.7
  c.data.train_stride = 32
  c.data.eval_stride = 128
  c.data.split_fractions = (0.7, 0.1, 0.2)
  c.data.split_seed = 0
  c.data.eval_split = 'test'
  c.data.workers = 0  # grain worker processes for loading; 0: in the main process

  c.synthetic = ml_collections.ConfigDict()
  c.synthetic.enabled = True
  c.synthetic.difficulty = difficulty
  c.synthetic.num_subjects = 120
  c.synthetic.recordings_per_subject = 1
  c.synthetic.duration_s = 20.0
  c.synthetic.size = 96  # rendered frame side, pixels
  c.synthetic.pulse_regions = 'all'  # or 'cheeks': pulse only in the cheeks (saliency checks)
  c.synthetic.seed = 1
  # Every knob of the generator as a (low, high) range, from the preset.
  c.synthetic.knobs = ml_collections.ConfigDict(
      {k: tuple(v) for k, v in presets.PRESETS[difficulty].items()})

  c.model = ml_collections.ConfigDict()
  c.model.representation = 'waveform'  # 'waveform' | 'hr' | 'rr_summary'
  c.model.channels = (8, 16, 32)  # (2+1)D block widths
  c.model.features = 4  # pulse feature channels per frame
  c.model.max_lag = 3  # heart-video lag searched by the waveform score, frames
  c.model.gain = 50.0  # relative colour change x gain before soft clipping
  c.model.norm_window = 0  # moving-mean window (frames) of the input normalisation; 0: clip
  c.model.compute_dtype = 'float32'  # of the (2+1)D blocks; 'bfloat16' on GPUs (float32 weights)
  c.model.encode_chunk = 2  # clips per video-encoder pass on CPUs (cache); 0: whole batch
  # (2+1)D blocks as 'channels_first' matrix products (fastest on CPUs) or 'channels_last'
  # lax convolutions (cuDNN on GPUs); 'auto': channels_first on CPUs only. Same parameters.
  c.model.block_layout = 'auto'

  c.train = ml_collections.ConfigDict()
  c.train.batch_size = 16  # clips of distinct subjects per step (global, all devices)
  c.train.steps = 4000
  c.train.learning_rate = 3e-3
  c.train.warmup_steps = 100
  c.train.weight_decay = 1e-4
  c.train.grad_clip = 1.0
  c.train.log_every = 50
  c.train.checkpoint_every = 500
  c.train.max_checkpoints = 3
  c.train.augment = True

  c.eval = ml_collections.ConfigDict()
  c.eval.batch_size = 32
  c.eval.bootstrap = 1000
  c.eval.n_way = (2, 5, 10)
  c.eval.n_way_trials = 2000
  c.eval.baselines = ('green', 'chrom', 'pos')  # classical rPPG scored on the same pairs
  c.eval.seed = 0
  return c
