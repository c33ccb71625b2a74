"""Encoders, the pairing score and the loss: shapes, gradients, invariances."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree
from jax.test_util import check_grads

from hrjax.models import heart_encoders, layers, pairing, spectral, video
from hrjax.models.pairing import PairingModel, contrastive_loss

T, S = 32, 16
# The blocks as build_model lays them out here (channel-first matmuls on a CPU).
CPU = jax.default_backend() == 'cpu'


def inputs(b, seed=0):
  rng = np.random.default_rng(seed)
  v = jnp.asarray(rng.integers(60, 200, (b, T, S, S, 3)), jnp.uint8)
  h = jnp.asarray(np.stack([rng.normal(size=(b, T)), rng.uniform(50, 120, (b, 1)) *
                            np.ones((b, T))], -1), jnp.float32)
  rr = jnp.asarray(np.stack([rng.uniform(0.5, 1.2, b), rng.uniform(0, 0.1, b)], -1),
                   jnp.float32)
  return v, h, rr


@functools.cache
def model_and_params(rep):
  """A small model and its initial parameters, one per representation (shared: jax arrays
  are immutable, and compiling init once saves the suite's time)."""
  m = PairingModel(representation=rep, channels=(4, 8, 8), features=2, channels_first=CPU)
  v, h, rr = inputs(2)
  return m, jax.jit(m.init)(jax.random.key(0), v, h, rr)['params']


@pytest.mark.parametrize('rep', ['waveform', 'hr', 'rr_summary'])
def test_shapes_and_parameter_counts(rep):
  m, params = model_and_params(rep)
  v, h, rr = inputs(3)
  shape = lambda *args, **kw: jax.eval_shape(functools.partial(m.apply, **kw),
                                             {'params': params}, *args).shape
  f = len(spectral.bpm_grid())
  expected = (3, T, 2) if rep == 'waveform' else (3, f)
  assert shape(v, method=m.encode_video) == shape(h, rr, method=m.encode_heart) == expected
  assert shape(v, h, rr) == (3, 3)
  assert sum(x.size for x in jax.tree.leaves(params)) == expected_parameters(rep)


def expected_parameters(rep, c=(4, 8, 8), d=2, f=71):
  """Worked out by hand from the architecture (channels c, features d, rate bins f)."""
  def block(cin, ctx, mid, out, k=3, kt=5):
    return k * k * (cin + ctx) * mid + mid + kt * mid * mid + mid + mid * out + out
  video = (3 * d                                      # colour skip (no bias: band-passed)
           + block(3, 3, c[0], c[0]) + block(c[0], 0, c[1], c[1]) + block(c[1], 0, c[2], c[2])
           + c[2]                                     # attention (no bias: softmax)
           + 3 * c[2] * d)                            # output temporal conv
  refiner = (5 * 8 + 8) + 5 * 8                      # second conv: no bias (softmax)
  heart = {'waveform': (5 * 16 + 16) + (5 * 16 * 16 + 16) + 16 * d,
           'hr': 1 + refiner,                       # bump width + its refiner
           'rr_summary': (2 * 32 + 32) + (32 * 32 + 32) + (32 * f + f)}[rep]
  video_refiner = 0 if rep == 'waveform' else refiner
  return video + video_refiner + heart + 1            # + log temperature


def test_video_encoder_keeps_time():
  enc = video.VideoEncoder(channels=(4, 8), out_features=3, gain=50.0)
  v, _, _ = inputs(2)
  params = jax.eval_shape(enc.init, jax.random.key(1), v)
  assert jax.eval_shape(enc.apply, params, v).shape == (2, T, 3)


def test_normalise_video_exposes_relative_change():
  v = np.full((1, 4, 2, 2, 3), 100, np.uint8)
  v[0, 1] = 101  # +1% in one frame
  x, appearance = video.normalise_video(jnp.asarray(v), gain=50.0)
  assert x.shape == (1, 4, 2, 2, 3) and appearance.shape == (1, 2, 2, 3)
  assert float(x[0, 1, 0, 0, 0]) > 0.3 and float(x[0, 0, 0, 0, 0]) < 0
  np.testing.assert_allclose(appearance, 100.25 / 255 - 0.5, rtol=1e-6)


def test_normalise_video_frame_differences_are_instance_normalised():
  v = np.full((2, 5, 2, 2, 3), 100, np.uint8)
  v[0, 2], v[1, 2] = 101, 104  # a change in one frame, four times larger in the second clip
  x, appearance = video.normalise_video(jnp.asarray(v), gain=50.0, mode='difference')
  assert x.shape == v.shape and appearance.shape == (2, 2, 2, 3)
  np.testing.assert_array_equal(x[:, :2], 0.0)  # no change before it (the first frame: none)
  assert float(x[0, 2, 0, 0, 0]) > 1 and float(x[0, 3, 0, 0, 0]) < -1  # up, then back down
  np.testing.assert_allclose(x[0], x[1], rtol=0.02)  # per clip: the size of a change drops out


@pytest.mark.parametrize('mode, window', [('relative', 0), ('relative', 5), ('difference', 0)])
def test_normalise_video_channels_first_is_the_same_change_turned(mode, window):
  """The blocks' channel-first input is the channel-last one, transposed; the same appearance."""
  v = jnp.asarray(np.random.default_rng(3).integers(0, 256, (2, 9, 4, 5, 3), dtype=np.uint8))
  want, want_look = video.normalise_video(v, 50.0, window=window, mode=mode)
  got, got_look = video.normalise_video(v, 50.0, window=window, mode=mode, channels_first=True)
  assert got.shape == (3, 4, 5, 2, 9)
  np.testing.assert_allclose(jnp.transpose(got, video.FROM_CHANNELS_FIRST), want, atol=1e-5)
  np.testing.assert_allclose(got_look, want_look, atol=1e-6)
  np.testing.assert_allclose(video.pixel_mean(got, True), video.pixel_mean(want, False),
                             atol=1e-5)


def test_butterworth_bandpass_is_scipys_zero_phase_filter():
  from hrjax.data.heart_series import butterworth_bandpass
  x = np.random.default_rng(0).normal(size=(2, 128, 3)).astype(np.float32)
  ours = spectral.butterworth_bandpass(jnp.asarray(x), 30.0)
  np.testing.assert_allclose(ours, butterworth_bandpass(x, 30.0, axis=1), atol=2e-5)
  drift = np.linspace(0, 1, 128, dtype=np.float32)[None, :, None]  # no wrap-around leak
  assert float(jnp.abs(spectral.butterworth_bandpass(jnp.asarray(drift), 30.0)).max()) < 0.02
  assert float(jnp.abs(spectral.fft_bandpass(jnp.asarray(drift), 30.0)).max()) > 0.1


def test_classical_channel_scores_as_the_chrom_baseline_and_weighs_in():
  """With classical_weight 1 the model's score is CHROM's baseline score times the scale;
  at 0 the learned channels' alone; between, the weighted sum of the two (each at its
  own best lag). Same parameters with or without the channel (fine-tuning carries over)."""
  from hrjax.evaluation import baselines
  base, params = model_and_params('waveform')
  rng = np.random.default_rng(4)
  t = np.arange(T) / 30.0
  pulse = np.sin(2 * np.pi * 1.3 * t + rng.uniform(0, 6, (4, 1)))  # [4, T]
  v = np.full((4, T, S, S, 3), 120.0) * (1 - 0.01 * pulse[:, :, None, None, None]
                                          * np.array([0.3, 0.8, 0.5]))
  v = jnp.asarray(np.clip(np.rint(v + rng.normal(0, 1, v.shape)), 0, 255), jnp.uint8)
  h = jnp.asarray(np.stack([pulse, np.full_like(pulse, 78.0)], -1), jnp.float32)
  rr = jnp.ones((4, 2), jnp.float32)
  scores = {}
  for w in (0.0, 0.4, 1.0):
    m = base.clone(classical='chrom', classical_weight=w)
    scores[w] = np.asarray(m.apply({'params': params}, v, h, rr))
  scale = float(jnp.exp(params['log_scale']))
  heart = np.asarray(h[..., 0])
  pulse_v = baselines.pulse_signals(np.asarray(v), 30.0, 'chrom')
  expected = np.asarray(spectral.lagged_correlation(
      jnp.asarray((heart - heart.mean(1, keepdims=True)) / heart.std(1, keepdims=True))[..., None],
      jnp.asarray(pulse_v)[..., None], base.max_lag)).max(-1)
  np.testing.assert_allclose(scores[1.0] / scale, expected, atol=2e-3)
  np.testing.assert_allclose(scores[0.0], base.apply({'params': params}, v, h, rr), atol=1e-5)
  np.testing.assert_allclose(scores[0.4], 0.6 * scores[0.0] + 0.4 * scores[1.0], atol=1e-4)


def test_heart_encoders_shapes():
  grid = spectral.bpm_grid()
  _, h, rr = inputs(2)
  shape = lambda enc, arg: jax.eval_shape(
      enc.apply, jax.eval_shape(enc.init, jax.random.key(0), arg), arg).shape
  assert shape(heart_encoders.RateEncoder(grid), h) == (2, len(grid))
  assert shape(heart_encoders.RRSummaryEncoder(grid), rr) == (2, len(grid))
  assert shape(heart_encoders.WaveformEncoder(features=3), h) == (2, T, 3)


@pytest.mark.parametrize('rep', ['waveform', 'hr', 'rr_summary'])
def test_every_parameter_gets_a_finite_nonzero_gradient(rep):
  """At a generic point: zero-initialised residual branches block gradients at init only."""
  m, params = model_and_params(rep)
  rng = np.random.default_rng(2)
  params = jax.tree.map(lambda p: p + 0.05 * rng.normal(size=p.shape).astype(p.dtype), params)
  v, h, rr = inputs(4, seed=3)
  grads = jax.jit(jax.grad(lambda p: contrastive_loss(m.apply({'params': p}, v, h, rr))))(params)
  for path, g in jax.tree_util.tree_leaves_with_path(grads):
    assert np.all(np.isfinite(g)), path
    assert np.any(g != 0), f'zero gradient at {jax.tree_util.keystr(path)}'


def test_check_grads_float64():
  """Analytic against numerical gradients of the loss, in float64, on a small input.

  Biases start at zero, which puts ReLUs exactly on their kink where the input
  is zero padding; a small random offset to every parameter moves them off it.
  """
  rng = np.random.default_rng(1)
  with jax.enable_x64(True):
    for rep in ('waveform', 'hr'):
      m = PairingModel(representation=rep, channels=(2, 2, 2), features=1, max_lag=1,
                       dtype=jnp.float64, channels_first=CPU)
      v, h, rr = inputs(3, seed=5)
      h, rr = h.astype(jnp.float64), rr.astype(jnp.float64)
      params = m.init(jax.random.key(0), v, h, rr)['params']
      params = jax.tree.map(lambda p: p.astype(jnp.float64) + 0.05 * rng.normal(size=p.shape),
                            params)
      flat, unravel = ravel_pytree(params)

      def loss(flat_params, m=m, v=v, h=h, rr=rr, unravel=unravel):
        return contrastive_loss(m.apply({'params': unravel(flat_params)}, v, h, rr))

      check_grads(jax.jit(loss), (flat,), order=1, modes=['rev'], atol=1e-5, rtol=1e-5, eps=1e-6)


def test_loss_is_log_n_for_equal_scores_and_near_zero_for_perfect():
  n = 6
  assert float(contrastive_loss(jnp.zeros((n, n)))) == pytest.approx(np.log(n), rel=1e-6)
  perfect = 50.0 * jnp.eye(n)
  assert float(contrastive_loss(perfect)) < 1e-6


@pytest.mark.parametrize('rep', ['waveform', 'hr'])
def test_decision_does_not_depend_on_video_order(rep):
  m, params = model_and_params(rep)
  v, h, rr = inputs(2, seed=7)
  ab = m.apply({'params': params}, v, h[:1], rr[:1])[0]
  ba = m.apply({'params': params}, v[::-1], h[:1], rr[:1])[0]
  np.testing.assert_allclose(ab, ba[::-1], rtol=1e-5, atol=1e-6)
  assert int(jnp.argmax(ab)) == 1 - int(jnp.argmax(ba))


@pytest.mark.parametrize('rep', ['waveform', 'hr'])
def test_pair_scores_are_the_diagonal_of_the_score_matrix(rep):
  m, params = model_and_params(rep)
  v, h, rr = inputs(3, seed=8)
  full = m.apply({'params': params}, v, h, rr)
  pairs = m.apply({'params': params}, v, h, rr, method=m.pair_scores)
  assert pairs.shape == (3,)
  np.testing.assert_allclose(pairs, jnp.diagonal(full), rtol=1e-5, atol=1e-6)


def test_lagged_correlation_finds_a_shift():
  rng = np.random.default_rng(0)
  x = rng.normal(size=(1, 40, 1))
  shifted = np.roll(x, 2, axis=1)
  c = spectral.lagged_correlation(jnp.asarray(shifted), jnp.asarray(x), 3)
  assert int(jnp.argmax(c[0, 0])) == 3 + 2


def test_bfloat16_blocks_score_like_float32_with_the_same_float32_weights():
  m, params = model_and_params('waveform')
  v, h, rr = inputs(6, seed=3)
  f32 = m.apply({'params': params}, v, h, rr)
  bf16 = PairingModel(representation='waveform', channels=(4, 8, 8), features=2,
                      dtype=jnp.bfloat16, channels_first=CPU).apply({'params': params}, v, h, rr)
  assert bf16.dtype == jnp.float32  # the score and everything after the blocks stay float32
  assert jax.tree.leaves(params)[0].dtype == jnp.float32
  assert np.corrcoef(np.ravel(f32), np.ravel(bf16))[0, 1] > 0.98
  assert np.abs(np.asarray(bf16) - np.asarray(f32)).max() < 0.1 * np.abs(np.asarray(f32)).max()


@jax.default_matmul_precision('highest')  # GPUs otherwise use TF32: off by up to 6e-3 here
def test_encoding_in_chunks_or_channels_first_changes_nothing():
  """Chunks of clips, and the blocks as matmuls on channel-first arrays: same scores, gradients."""
  m, params = model_and_params('waveform')
  v, h, rr = inputs(4, seed=4)
  chunked = PairingModel(representation='waveform', channels=(4, 8, 8), features=2,
                         encode_chunk=2, channels_first=CPU)

  def grads(model):
    def loss(p):
      logits = model.apply({'params': p}, v, h, rr)
      return contrastive_loss(logits), logits
    return jax.jit(jax.value_and_grad(loss, has_aux=True))(params)

  (_, want), want_grads = grads(m)
  (_, got), got_grads = grads(chunked)
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
  for a, b in zip(jax.tree.leaves(got_grads), jax.tree.leaves(want_grads)):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6 * float(np.abs(b).max()))
  enc = {flag: video.VideoEncoder((4, 8, 8), 2, 50.0, channels_first=flag)
         for flag in (True, False)}
  enc_params = params['video_encoder']

  def encode(e):
    def f(p):
      z = e.apply({'params': p}, v)
      return (z ** 2).sum(), z
    return jax.jit(jax.value_and_grad(f, has_aux=True))(enc_params)

  (_, z_first), g_first = encode(enc[True])
  (_, z_last), g_last = encode(enc[False])
  np.testing.assert_allclose(z_first, z_last, rtol=1e-5, atol=1e-5)
  for a, b in zip(jax.tree.leaves(g_first), jax.tree.leaves(g_last)):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6 * float(np.abs(b).max()))


@pytest.mark.parametrize('batch, chunk, count', [(16, 2, 8), (16, 0, 1), (6, 4, 1), (12, 5, 2),
                                                 (7, 2, 1), (32, 2, 16), (2, 2, 1)])
def test_chunk_count_divides_the_batch(batch, chunk, count):
  assert pairing._chunk_count(batch, chunk) == count


def test_compute_dtype_auto_is_bfloat16_on_accelerators_only():
  """'auto' (the gpu config's) computes the blocks in bfloat16 on a GPU and float32 on a CPU,
  where XLA converts bfloat16 instead of computing in it; a named dtype is kept anywhere."""
  from configs import default
  cfg = default.get_config()
  bf16 = jnp.bfloat16
  for name, on_cpu, on_gpu in (('auto', None, bf16), ('bfloat16', bf16, bf16),
                               ('float32', None, None)):
    cfg.model.compute_dtype = name
    assert pairing.build_model(cfg, 'cpu').dtype == on_cpu
    assert pairing.build_model(cfg, 'gpu').dtype == on_gpu


@pytest.mark.parametrize('layout', ['auto', 'channels_first', 'channels_last'])
def test_block_layout_from_config_picks_the_formulation(layout):
  """`model.block_layout` is resolved once, in build_model (auto: channel-first on a CPU
  only; `encode_chunk` on a CPU only), and the blocks then run on the arrays it names."""
  from configs import default
  cfg = default.get_config()
  cfg.model.channels, cfg.model.features, cfg.model.block_layout = (4, 8, 8), 2, layout
  for backend in ('cpu', 'gpu'):
    m = pairing.build_model(cfg, backend)
    auto = backend == 'cpu'
    assert m.channels_first is (auto if layout == 'auto' else layout == 'channels_first')
    assert m.encode_chunk == (2 if backend == 'cpu' else 0)
  want = CPU if layout == 'auto' else layout == 'channels_first'
  m = pairing.build_model(cfg)
  _, params = model_and_params('waveform')
  v, _, _ = inputs(2)
  _, blocks = jax.eval_shape(functools.partial(
      m.apply, method=m.encode_video, capture_intermediates=lambda mdl, _: isinstance(
          mdl, layers.FactorisedBlock)), {'params': params}, v)
  out = blocks['intermediates']['video_encoder']['block0']['__call__'][0].shape
  assert out == ((4, S // 2, S // 2, 2, T) if want else (2, T, S // 2, S // 2, 4))
  cfg.model.block_layout = 'NCTHW'
  with pytest.raises(ValueError, match='block_layout'):
    pairing.build_model(cfg)


@pytest.mark.parametrize('appearance', [True, False])
def test_the_mean_frame_reaches_the_first_block_only_when_asked(appearance):
  """`model.appearance`: the first block's spatial conv has weights for the clip's mean frame
  (its context) only when the config asks for it; the scores keep their shape either way."""
  from configs import default
  cfg = default.get_config('runlocal')
  cfg.model.appearance = appearance
  m = pairing.build_model(cfg)
  v, h, rr = inputs(2)
  params = jax.eval_shape(m.init, jax.random.key(0), v, h, rr)['params']
  block0 = params['video_encoder']['block0']
  assert ('spatial_context' in block0) == appearance
  assert jax.eval_shape(m.apply, {'params': params}, v, h, rr).shape == (2, 2)
