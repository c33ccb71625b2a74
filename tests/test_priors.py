"""Unlabeled clips: the spectral priors, the masked contrastive loss, the step and the loader."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from test_model import inputs, model_and_params

from hrjax.data import clip_store, pipeline
from hrjax.models import spectral, spectral_priors
from hrjax.models.pairing import contrastive_loss
from hrjax.training import step

FPS, T = 30.0, 128
GRID = spectral.bpm_grid()


def tones(bpms, noise=0.0, seed=0):
  """`[B, T, 1]` sines at the given rates (band-passed and standardised like the encoder's
  output), with white noise of that standard deviation."""
  t = np.arange(T) / FPS
  rng = np.random.default_rng(seed)
  x = np.stack([np.sin(2 * np.pi * b / 60 * t) for b in bpms])[..., None]
  x = x + noise * rng.normal(size=x.shape)
  return spectral.standardise(spectral.fft_bandpass(jnp.asarray(x, jnp.float32), FPS))


def test_sparsity_prefers_one_peak_and_variance_prefers_rates_spread_over_the_band():
  half = spectral_priors.peak_half_width(T, FPS, GRID)
  assert half == 5  # about 10 bpm on a 4.3-second clip, in 2-bpm steps
  pure = spectral_priors.normalised_power(tones([72.0]), FPS, GRID)
  noisy = spectral_priors.normalised_power(tones([72.0], noise=3.0), FPS, GRID)
  np.testing.assert_allclose(pure.sum(1), 1.0, rtol=1e-5)
  # A 4.3-second tone still spreads a fifth of its power beyond the peak (the window's
  # side lobes); noise three times its amplitude spreads most of it.
  assert float(spectral_priors.sparsity_loss(pure, half)[0]) < 0.25
  assert float(spectral_priors.sparsity_loss(noisy, half)[0]) > 0.6
  same = spectral_priors.normalised_power(tones([72.0] * 8), FPS, GRID)
  spread = spectral_priors.normalised_power(tones(np.linspace(50, 170, 8)), FPS, GRID)
  w = jnp.ones(8)
  assert float(spectral_priors.variance_loss(spread, w)) < 0.01 * float(
      spectral_priors.variance_loss(same, w))
  # Only the weighted clips count: the spread set's first clip alone is a single peak.
  only_first = w.at[1:].set(0.0)
  np.testing.assert_allclose(spectral_priors.variance_loss(spread, only_first),
                             spectral_priors.variance_loss(spread[:1], jnp.ones(1)), rtol=1e-5)


def test_the_prior_loss_is_zero_without_unlabeled_clips_and_counts_only_them():
  z = tones([60.0, 90.0, 120.0], noise=1.0)
  assert float(spectral_priors.spectral_prior_loss(z, jnp.zeros(3), FPS, GRID)) == 0.0
  one = spectral_priors.spectral_prior_loss(z, jnp.array([0.0, 1.0, 0.0]), FPS, GRID)
  alone = spectral_priors.spectral_prior_loss(z[1:2], jnp.ones(1), FPS, GRID)
  np.testing.assert_allclose(one, alone, rtol=1e-5)


def test_the_masked_contrastive_loss_is_the_loss_of_the_labeled_clips_alone():
  logits = jnp.asarray(np.random.default_rng(0).normal(size=(5, 5)) * 3, jnp.float32)
  np.testing.assert_allclose(contrastive_loss(logits, jnp.ones(5)), contrastive_loss(logits),
                             rtol=1e-6)
  keep = np.array([1, 0, 1, 1, 0], np.float32)
  idx = np.flatnonzero(keep)
  np.testing.assert_allclose(contrastive_loss(logits, jnp.asarray(keep)),
                             contrastive_loss(logits[np.ix_(idx, idx)]), rtol=1e-6)


def test_the_step_never_reads_an_unlabeled_clips_heart_but_learns_from_its_video():
  """Swapping the heart of the unlabeled clips changes nothing; their video changes the
  loss (the priors) and the gradients of the video encoder."""
  model, params = model_and_params('waveform')
  tx = optax.adam(1e-3)
  state = dict(params=params, opt_state=tx.init(params), step=jnp.zeros((), jnp.int32))
  v, h, rr = inputs(4, seed=4)
  labeled = jnp.array([1.0, 1.0, 1.0, 0.0])
  run = jax.jit(lambda s, b: step.train_step(s, b, model=model, tx=tx, prior_weight=1.0))
  batch = dict(video=v, heart=h, rr=rr, labeled=labeled)
  base = run(state, batch)
  other_heart = dict(batch, heart=h.at[3].set(h[0]), rr=rr.at[3].set(rr[0]))
  same = run(state, other_heart)
  for a, b in zip(jax.tree.leaves(base[0]['params']), jax.tree.leaves(same[0]['params'])):
    np.testing.assert_array_equal(a, b)
  assert float(base[1]['spectral_prior']) > 0.0
  other_video = dict(batch, video=v.at[3].set(v[0][:, ::-1]))
  moved = run(state, other_video)
  assert float(moved[1]['loss']) != pytest.approx(float(base[1]['loss']), rel=1e-6)


def test_unlabeled_sources_come_last_marked_and_ignore_the_held_out_list(tiny_data):
  _, store = tiny_data
  test = clip_store.open_split(store, 'test')
  held_out = str(test.subjects[0])
  mix = pipeline.mixed_sources(f'{store}:test@1', exclude=held_out)
  unlabeled = pipeline.mixed_sources(f'{store}:test@{len(set(test.subjects))}',
                                     unlabeled=True)
  assert mix[0].split == unlabeled[0].split == 'test'
  n = unlabeled[0].clips
  batches = pipeline.SubjectBatches(store, 'train', 3 + n, seed=1, augment=False, mix=mix,
                                    unlabeled=unlabeled)
  b = batches(0)
  np.testing.assert_array_equal(b['labeled'], [1.0] * 3 + [0.0] * n)
  picks, _ = batches.plan(0)
  assert held_out in set(test.subjects[[c for src, c in picks if src == 2]])
  assert 'labeled' not in pipeline.SubjectBatches(store, 'train', 3, seed=1, augment=False)(0)
  with pytest.raises(ValueError, match='train.unlabeled entry'):
    pipeline.mixed_sources(f'{store}:test', unlabeled=True)


def test_a_manifest_of_videos_without_heart_makes_an_unlabeled_store_used_only_as_such(tmp_path):
  from hrjax.data import extract
  from hrjax.errors import InputError
  from tests import ingest_files as files
  settings = extract.ExtractSettings(clip_frames=32, size=8, crop='none', eval_stride=32,
                                     train_stride=32, split_fractions=(1.0, 0.0, 0.0))
  for name in ('a', 'b'):
    files.write_video(tmp_path / f'{name}.mp4', files.face_frames(96, (16, 16)))
  (tmp_path / 'manifest.csv').write_text('subject,video,heart,kind\np1,a.mp4,,none\n'
                                         'p2,b.mp4,,none\n')
  summary = extract.extract('manifest', tmp_path, tmp_path / 'store', settings, progress=False)
  assert [r['clips'] for r in summary['taken']] == [3, 3]
  split = clip_store.open_split(tmp_path / 'store', 'train')
  assert not np.asarray(split.heart).any() and all(r['unlabeled'] for r in split.rows)
  (source,) = pipeline.mixed_sources(f'{tmp_path / "store"}@2', unlabeled=True)
  assert len(source.clips_of) == 2
  with pytest.raises(ValueError, match='store: its videos have no heart signal'):
    pipeline.mixed_sources(f'{tmp_path / "store"}@2')
  (tmp_path / 'mixed.csv').write_text('subject,video,heart,kind\np1,a.mp4,,none\n'
                                      'p2,b.mp4,70,rate\n')
  with pytest.raises(InputError, match='some recordings have a heart signal and some'):
    extract.extract('manifest', tmp_path / 'mixed.csv', tmp_path / 'store2', settings,
                    progress=False)
  (tmp_path / 'bad.csv').write_text('subject,video,heart,kind\np1,a.mp4,70,none\n')
  with pytest.raises(InputError, match="kind none takes an empty heart cell, got '70'"):
    extract.extract('manifest', tmp_path / 'bad.csv', tmp_path / 'store3', settings,
                    progress=False)
  assert not (tmp_path / 'store2').exists() and not (tmp_path / 'store3').exists()
