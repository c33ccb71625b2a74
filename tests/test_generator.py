"""The synthetic generator: its layout, physiology, pulse, web copies and face regions."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from hrjax.data import clip_store, regions
from hrjax.data import heart_series as heart
from hrjax.data.synthetic import faces, physiology, presets
from hrjax.evaluation import baselines


def test_generator_writes_the_ubfc_layout(tiny_data):
  cfg, _ = tiny_data
  from pathlib import Path
  root = Path(cfg.data.root)
  folders = sorted(p.name for p in root.iterdir() if p.is_dir())
  assert len(folders) == 14 and all(f.startswith('subject') for f in folders)
  lines = (root / 'subject1' / 'ground_truth.txt').read_text().splitlines()
  ppg, bpm, t = (np.array(line.split(), float) for line in lines)
  assert len(ppg) == len(bpm) == len(t) == 120
  assert np.all(np.diff(t) > 0) and 40 <= bpm.mean() <= 160
  meta = json.loads((root / 'synthetic.json').read_text())
  assert len(meta['recordings']) == 14 and set(presets.KNOB_DOCS) <= set(meta['recordings'][0])


def test_pulse_polarity_and_alignment_on_easy_faces(tmp_path):
  """POS (sign-corrected) on generated faces rises with the recorded PPG, at lag ~0.

  Physics, not difficulty: light skin, a strong pulse, a still face, no lag.
  """
  from configs import default
  from hrjax.data import prepare
  from tests.conftest import tiny_config
  cfg = tiny_config(tmp_path / 'raw', tmp_path / 'store')
  knobs = dict(default.get_config('easy').synthetic.knobs)
  knobs.update(lag_frames=(0.0, 0.0), melanin=(0.0, 0.3), pulse_amp=(0.01, 0.012),
               noise=(0.3, 0.5), motion=(0.0, 0.0))
  cfg.synthetic.knobs = knobs
  cfg.synthetic.num_subjects, cfg.synthetic.duration_s = 6, 4.0
  cfg.data.clip_frames, cfg.data.eval_stride = 64, 64
  cfg.data.split_fractions = (0.0, 0.0, 1.0)
  cfg.data.crop_fraction = 0.5  # cheeks and nose: skin only
  store = prepare.ensure_store(cfg, progress=False)
  split = clip_store.open_split(store, 'test')
  assert len(set(split.subjects)) == 6
  ppg = split.heart[:, :, 0]
  for method in ('green', 'chrom', 'pos'):  # each made to rise with blood volume
    pulse = baselines.pulse_signals(np.asarray(split.video), 30.0, method)
    corr = [np.mean([np.corrcoef(np.roll(p, lag), h)[0, 1] for p, h in zip(pulse, ppg)])
            for lag in range(-3, 4)]
    assert corr[3] > 0.4, (method, corr)  # a sign error would make this strongly negative
    assert abs(int(np.argmax(corr)) - 3) <= 1, (method, corr)


def test_physiology_rate_and_polarity():
  """The simulated PPG rises with blood volume: its maxima (the beats `from_ppg` finds) are
  systolic peaks early in each beat, not the troughs before the next one."""
  t = np.arange(0, 30, 1 / 60)
  phys = physiology.simulate(np.random.default_rng(0), t, 72.0)
  series = heart.from_ppg(t, phys.ppg)
  assert abs(np.nanmean(series.hr) - 72) < 4
  assert len(series.beats) == pytest.approx(36, abs=3)
  onset = np.searchsorted(phys.beats, series.beats, side='right') - 1
  phase = (series.beats - phys.beats[onset]) / (phys.beats[onset + 1] - phys.beats[onset])
  assert 0.1 < np.median(phase) < 0.45, np.median(phase)  # a flipped PPG peaks near 1


def test_web_copies_are_drawn_apart_and_written_at_their_bitrate(tmp_path):
  """The encoding knobs come from a random stream of their own: a dataset of the presets
  before them draws every other knob (and frame) as before. A web copy is 4:2:0 H.264 at
  about its bitrate, far smaller than the near-lossless file of the same recording."""
  import imageio_ffmpeg

  from hrjax.data.synthetic import generate
  ranges = dict(presets.PRESETS['default'])
  legacy = {k: v for k, v in ranges.items() if k not in presets.ENCODING_KNOBS}
  drawn = presets.sample_knobs(np.random.default_rng(5), ranges, np.random.default_rng(6))
  before = presets.sample_knobs(np.random.default_rng(5), legacy)
  assert {k: drawn[k] for k in before} == before and set(drawn) == set(ranges)

  sizes, chroma = {}, {}
  for name, share in (('crf', 0.0), ('web', 1.0)):
    knobs = dict(ranges, web_copy=(share, share), kbit_s=(8.0, 8.0))
    rec = generate.render_recording(str(tmp_path), name, 0, 1, 0, knobs, 4.0, 30.0, 48, 'all')
    video = tmp_path / name / 'vid.mp4'
    reader = imageio_ffmpeg.read_frames(str(video))
    sizes[name], chroma[name] = video.stat().st_size, next(reader)['pix_fmt']
    reader.close()
    assert rec['encoding'] == ('8 kbit/s' if share else f'crf {round(rec["crf"])}')
  assert chroma['web'].startswith('yuv420p'), chroma
  assert sizes['web'] * 8 / 4.0 / 1000 < 16  # about 8 kbit/s over its 4 s
  assert sizes['web'] * 3 < sizes['crf'], sizes


_WRITE_ON_ONE_CPU = """
import sys
import numpy as np
from hrjax.data import video_io
frames = np.random.default_rng(0).integers(0, 255, (60, 96, 96, 3)).astype(np.uint8)
video_io.write_video(sys.argv[1], frames, 30.0, kbit_s=16.0)
"""


@pytest.mark.skipif(not hasattr(os, 'sched_getaffinity') or len(os.sched_getaffinity(0)) < 2,
                    reason='needs two CPUs to compare with one')
def test_a_web_copy_is_the_same_file_on_one_cpu_as_on_several(tmp_path):
  """x264's rate control at a target bitrate depends on its thread count, which it would
  take from the CPUs it may use: the writer fixes it, so a machine with other cores writes
  the same bytes."""
  paths = [tmp_path / 'all.mp4', tmp_path / 'one.mp4']
  one_cpu = lambda: os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
  for path, start in zip(paths, (None, one_cpu)):
    subprocess.run([sys.executable, '-c', _WRITE_ON_ONE_CPU, str(path)], check=True,
                   preexec_fn=start, timeout=120)
  assert paths[0].read_bytes() == paths[1].read_bytes()


def test_face_regions_and_cheek_only_pulse():
  maps = faces.render_face_maps(np.random.default_rng(0), 64, 0.5, 'cheeks')
  cheeks = np.isin(maps.regions, (regions.LEFT_CHEEK, regions.RIGHT_CHEEK))
  assert cheeks.any() and (maps.pulse_weight[~cheeks] == 0).all()
  assert (maps.regions == regions.FOREHEAD).any()
