"""The store probes on clips whose pulse, delay, colour and drift are known by construction."""

import json
import subprocess
import sys

import numpy as np

from hrjax.evaluation import domain_probes

FPS, T, SIZE = 30.0, 128, 12
DIRECTION = np.array([0.33, 0.77, 0.53]) / np.linalg.norm([0.33, 0.77, 0.53])


def recorded_pulse(bpm=72.0, frames=T + 20):
  t = np.arange(frames) / FPS
  return np.sin(2 * np.pi * bpm / 60 * t) + 0.4 * np.sin(4 * np.pi * bpm / 60 * t - 0.8)


def face_clip(amp=0.005, lag=2, noise=1.0, ramp=0.0, step=0.0, seed=0, direction=DIRECTION):
  """`uint8 [T, S, S, 3]` whose mean colour darkens by `amp` (green) along `direction` with
  the recorded pulse delayed `lag` frames, plus pixel noise (grey levels), a linear
  brightening by `ramp` over the clip and a jump by `step` halfway; and that pulse `[T]`."""
  rng = np.random.default_rng(seed)
  wave = recorded_pulse()
  ref = wave[10:10 + T]
  face = wave[10 - lag:10 - lag + T]
  face = face / ref.std()
  level = np.array([150.0, 110.0, 90.0])
  darkening = amp * direction / direction[1]
  light = 1 + ramp * np.linspace(0, 1, T) + step * (np.arange(T) >= T // 2)
  mean = level * light[:, None] * (1 - darkening * face[:, None])
  video = mean[:, None, None, :] + rng.normal(0, noise, (T, SIZE, SIZE, 3))
  return np.clip(np.rint(video), 0, 255).astype(np.uint8), ref


def test_pulse_strength_delay_and_colour_are_recovered():
  video, ref = face_clip(amp=0.005, lag=2)
  p = domain_probes.clip_probes(video, ref, 72.0, FPS)
  assert abs(p['pulse_amp_pct'] - 0.5) < 0.05
  assert p['lag_frames'] == 2
  assert p['pulse_dir'] @ DIRECTION > 0.995
  early, ref = face_clip(amp=0.005, lag=-3)
  assert domain_probes.clip_probes(early, ref, 72.0, FPS)['lag_frames'] == -3


def test_noise_lowers_the_snrs_and_raises_the_noise_figures():
  clean = domain_probes.clip_probes(*face_clip(noise=0.5), 72.0, FPS)
  noisy = domain_probes.clip_probes(*face_clip(noise=12.0), 72.0, FPS)
  assert noisy['green_snr_db'] < clean['green_snr_db'] - 6
  assert noisy['chrom_snr_db'] < clean['chrom_snr_db']
  assert noisy['inband_noise_pct'] > 2 * clean['inband_noise_pct']
  assert noisy['pixel_noise_pct'] > 5 * clean['pixel_noise_pct']  # quantisation stays
  assert clean['clipped_clip_mean'] == 0.0


def test_drift_and_a_jump_are_what_the_moving_mean_removes():
  still = domain_probes.clip_probes(*face_clip(), 72.0, FPS)
  ramp = domain_probes.clip_probes(*face_clip(ramp=0.05), 72.0, FPS)
  assert ramp['drift_pct'] > 5 * still['drift_pct']
  jump = domain_probes.clip_probes(*face_clip(step=0.2), 72.0, FPS, window=45)
  # About the clip mean every sample is 9% off (the gain's limit is 6%); about a moving
  # mean only those within half a window of the jump.
  assert jump['clipped_clip_mean'] > 0.95
  assert 0.05 < jump['clipped_window'] < 0.4


def test_a_store_is_summarised_over_subjects_with_the_colour_spread():
  other = np.array([0.6, 0.7, 0.3]) / np.linalg.norm([0.6, 0.7, 0.3])
  probes = [domain_probes.clip_probes(*face_clip(seed=s, direction=d), 72.0, FPS)
            for s, d in enumerate([DIRECTION, DIRECTION, DIRECTION, other])]
  summary = domain_probes.store_summary(probes, ['a', 'a', 'a', 'b'])
  assert summary['subjects'] == 2 and summary['clips'] == 4
  angle = np.degrees(np.arccos(DIRECTION @ other))
  # Two subjects, one direction each: each is half the angle from their mean.
  assert abs(summary['pulse_dir']['spread_deg'] - angle / 2) < 1.5
  assert abs(summary['pulse_amp_pct']['mean'] - 0.5) < 0.05
  assert summary['lag_frames'] == dict(mean=2.0, sd=0.0)
  assert len(summary['noise_spectrum']) == T // 2 + 1


def test_the_script_writes_the_table_json_and_spectra_of_a_store(tiny_data, tmp_path):
  _, store = tiny_data
  out = tmp_path / 'probes.md'
  done = subprocess.run(
      [sys.executable, 'scripts/store_probes.py', f'--store={store}:test', f'--store={store}',
       '--clips_per_subject=2', f'--out={out}', f'--png={tmp_path / "spectra.png"}',
       '--per_subject', '--noprogress'], capture_output=True, text=True, check=True)
  assert out.read_text().strip() in done.stdout
  summary = out.read_text().split('\n\n')[0]
  assert summary.count('\n') == 2 + len(domain_probes.SCALARS)  # head, rule, rows, colour
  assert out.read_text().count(f'{store} [test] by subject:') == 2
  results = json.loads((tmp_path / 'probes.json').read_text())
  assert [r['split'] for r in results] == ['test', 'test']  # the default: test when it has clips
  assert results[0]['pulse_amp_pct'] == results[1]['pulse_amp_pct']
  assert (tmp_path / 'spectra.png').read_bytes()[:4] == b'\x89PNG'
  missing = subprocess.run([sys.executable, 'scripts/store_probes.py', f'--store={tmp_path}/x'],
                           capture_output=True, text=True)
  assert missing.returncode != 0 and f'{tmp_path}/x: not a clip store' in missing.stderr


def test_a_rate_only_clip_has_the_probes_that_need_no_waveform():
  video, _ = face_clip(noise=0.5)
  p = domain_probes.clip_probes(video, None, 72.0, FPS)
  assert np.isnan(p['pulse_amp_pct']) and np.isnan(p['lag_frames'])
  assert np.isnan(p['pulse_dir']).all()
  assert p['chrom_snr_db'] > 0 and p['pixel_noise_pct'] > 0  # the pulse is there all the same
  summary = domain_probes.store_summary([p, p], ['a', 'b'])
  assert np.isnan(summary['pulse_amp_pct']['mean'])
  assert summary['chrom_snr_db']['mean'] == p['chrom_snr_db']
  assert np.isnan(summary['pulse_dir']['spread_deg'])
