"""Default experiment: synthetic faces (`default` difficulty), waveform heart, CPU-sized.

  python -m hrjax.main --config configs/default.py --workdir runs/default
  python -m hrjax.main --config configs/default.py:hard --workdir runs/hard   # difficulty
  python -m hrjax.main --config configs/default.py:runlocal --workdir runs/local  # tiny

The argument after ':' picks the synthetic difficulty (easy, default, hard) and,
with `runlocal` (alone or as `hard,runlocal`), shrinks everything to a run of a
minute on a laptop (the tests' size). Any field can be overridden:
--config.train.steps=2000 --config.model.representation=hr
"""

import ml_collections

from hrjax.data.synthetic import presets


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  tokens = [t.strip() for t in (arg or '').split(',') if t.strip()]
  runlocal = 'runlocal' in tokens
  rest = [t for t in tokens if t != 'runlocal']
  difficulty = rest[0] if rest else 'default'
  if len(rest) > 1 or difficulty not in presets.PRESETS:
    raise ValueError(f'config argument {arg!r}: expected a difficulty '
                     f'({", ".join(presets.PRESETS)}) and/or runlocal')
  c = ml_collections.ConfigDict()
  c.seed = 0
  name = difficulty + ('-runlocal' if runlocal else '')
  c.data = _data(f'data/synthetic-{name}')
  c.synthetic = _synthetic(difficulty)
  c.model = _model()
  c.train = _train()
  c.eval = _eval()
  if runlocal:
    _runlocal(c)
  return c


def _data(folder: str) -> ml_collections.ConfigDict:
  """A dataset folder (raw files) -> a clip store. With `synthetic.enabled`, a missing
  dataset folder is generated first."""
  d = ml_collections.ConfigDict()
  d.dataset = 'ubfc_rppg'  # adapter name; the generator writes this layout
  d.root = f'{folder}/raw'
  d.store = f'{folder}/store'
  d.fps = 30.0
  d.clip_frames = 128
  d.size = 36
  # The synthetic faces are centred and fill the frame: a centred square. Real recordings
  # want 'face' (scripts/extract.py's default), videos of skin regions only 'none'.
  d.crop = 'center'
  d.crop_fraction = 0.7
  d.predict_crop = ''  # how `hrjax.predict` crops a user's videos; '': as `crop`
  d.face_detector = 'haar'  # crop='face': 'haar', or 'mediapipe' (`make faces`; region maps)
  d.train_stride = 32
  d.eval_stride = 128
  d.split_fractions = (0.7, 0.1, 0.2)
  d.split_seed = 0
  d.eval_split = 'test'
  d.workers = 0  # grain worker processes for loading; 0: in the main process
  d.ingest_workers = 0  # processes generating and extracting recordings; 0: one per CPU
  d.read_ahead = 8  # training batches made ahead of the step (each process holds them)
  d.read_threads = 2  # threads making them (in each worker process, if any)
  # training clips kept on the devices, the loader sending only which ones: 'auto' (where
  # they fit in 30% of an accelerator's memory, 10% of a CPU machine's), 'on' or 'off'
  # (training/resident.py)
  d.on_device = 'auto'
  return d


def _synthetic(difficulty: str) -> ml_collections.ConfigDict:
  s = ml_collections.ConfigDict()
  s.enabled = True
  s.difficulty = difficulty
  s.num_subjects = 120
  s.recordings_per_subject = 1
  s.duration_s = 20.0
  s.size = 96  # rendered frame side, pixels
  s.pulse_regions = 'all'  # or 'cheeks': pulse only in the cheeks (saliency checks)
  s.seed = 1
  # Every knob of the generator as a (low, high) range, from the preset.
  s.knobs = ml_collections.ConfigDict(
      {k: tuple(v) for k, v in presets.PRESETS[difficulty].items()})
  return s


def _model() -> ml_collections.ConfigDict:
  m = ml_collections.ConfigDict()
  m.representation = 'waveform'  # 'waveform' | 'hr' | 'rr_summary'
  m.channels = (8, 16, 32)  # (2+1)D block widths
  m.features = 4  # pulse feature channels per frame
  m.max_lag = 3  # heart-video lag searched by the waveform score, frames
  m.gain = 50.0  # relative colour change x gain before soft clipping
  m.norm_window = 0  # moving-mean window (frames) of the input normalisation; 0: clip
  # The video's input: 'relative' change about the mean (gain, norm_window) or normalised
  # frame 'difference's, instance-normalised per clip (DeepPhys; models/video.py).
  m.input = 'relative'
  # The first block also sees the clip's mean frame (where the skin is); False: only the
  # changes over time (models/video.py).
  m.appearance = True
  # CHROM's pulse as one more channel, its correlation weighted by classical_weight in the
  # score of evaluation, prediction and saliency, not in the training loss (waveform only;
  # models/classical.py); 'none': the learned channels alone.
  m.classical = 'none'
  m.classical_weight = 0.25
  # The heart-band filter of the pulse features and the heart: 'fft' (a mask over a clip's
  # FFT bins) or 'butterworth' (zero-phase, as the classical baselines filter).
  m.bandpass = 'fft'
  # of the (2+1)D blocks (float32 weights): 'float32', 'bfloat16' (GPUs), 'auto': bfloat16 on
  # an accelerator, float32 on a CPU (XLA's CPU backend converts bfloat16: docs/performance.md)
  m.compute_dtype = 'float32'
  m.encode_chunk = 2  # clips per video-encoder pass on CPUs (cache); 0: whole batch
  # (2+1)D blocks as 'channels_first' matrix products (fastest on CPUs) or 'channels_last'
  # lax convolutions (cuDNN on GPUs); 'auto': channels_first on CPUs only. Same parameters.
  m.block_layout = 'auto'
  return m


def _train() -> ml_collections.ConfigDict:
  t = ml_collections.ConfigDict()
  t.batch_size = 16  # clips of distinct subjects per step (global, all devices)
  t.steps = 4000
  t.learning_rate = 3e-3
  t.warmup_steps = 100
  t.weight_decay = 1e-4
  t.grad_clip = 1.0
  t.log_every = 50
  t.checkpoint_every = 500
  t.max_checkpoints = 3
  t.augment = True  # random left-right flips and shifts of up to 2 pixels
  # With augment: each clip through a random camera colour response (white balance and
  # channel crosstalk, sd of the log gains; pipeline.colour_matrices); 0: none.
  t.colour_mix = 0.0
  # Real recordings beside the synthetic ones: 'STORE@CLIPS,...' takes that many clips of
  # distinct subjects per batch from each store's train split (the rest from data.store);
  # mix_exclude: 'SUBJECT,...' never drawn from them (a held-out subject).
  t.mix = ''
  t.mix_exclude = ''
  # Clips without a usable heart signal (a user's unlabeled recordings), 'STORE@CLIPS' or
  # 'STORE:SPLIT@CLIPS' per batch, within batch_size: no contrastive pair, only the
  # spectral priors of their pulse (hrjax/models/spectral_priors.py) times prior_weight.
  # mix_exclude does not apply: their hearts are never read.
  t.unlabeled = ''
  t.prior_weight = 1.0
  # Times 1 - the correlation of each labeled clip's video pulse with its recorded pulse
  # (waveform heart only; hrjax/training/step.py pearson_loss), beside the contrastive loss.
  t.pearson_weight = 0.0
  t.init_from = ''  # a workdir: start from its latest parameters (fine-tuning), new optimizer
  return t


def _eval() -> ml_collections.ConfigDict:
  e = ml_collections.ConfigDict()
  e.batch_size = 32
  e.bootstrap = 1000
  e.n_way = (2, 5, 10)
  e.n_way_trials = 2000
  e.baselines = ('green', 'chrom', 'pos')  # classical rPPG scored on the same pairs
  e.seed = 0
  # Score each video and its mirror image and average (evaluation and `hrjax.predict`):
  # twice the encoder's work, less of the noise of where the attention happens to look.
  e.mirror_average = False
  # Score only these face regions' changes over time (evaluation/region_input.py: 'skin',
  # 'forehead', 'cheeks', 'nose', 'chin_jaw', 'other_skin', 'non_skin'); '': the whole clip.
  e.regions = ''
  return e


def _runlocal(c: ml_collections.ConfigDict) -> None:
  """Everything shrunk (what the tests run): 14 subjects of 4 s, 32 x 16 x 16 clips, a
  network of a few thousand parameters, 6 steps."""
  c.data.clip_frames, c.data.size = 32, 16
  c.data.train_stride, c.data.eval_stride = 16, 32
  c.data.split_fractions = (0.6, 0.1, 0.3)
  c.synthetic.num_subjects, c.synthetic.duration_s, c.synthetic.size = 14, 4.0, 40
  c.synthetic.knobs.crf = (12.0, 14.0)
  c.model.channels, c.model.features = (4, 8, 8), 2
  c.train.batch_size, c.train.steps, c.train.warmup_steps = 8, 6, 2
  c.train.log_every, c.train.checkpoint_every = 2, 3
  c.eval.bootstrap, c.eval.n_way, c.eval.n_way_trials = 50, (2, 3), 100
