r"""Calibrate a generator against real faces: the same measurable probes on several stores.

  python scripts/store_probes.py --store data/synthetic-lag/store:test \
      --store data/ubfc-dev/face-store:test --store data/independent/store:test \
      --out docs/transfer/probes.md --png docs/figures/probes-noise-spectra.png

Each store's clips (at most `--clips_per_subject` of each subject, spread over the
recording) are probed as `hrjax/evaluation/domain_probes.py` says: the pulse's strength,
in-band noise, SNR (with and without the recorded waveform), the face pulse's delay behind
the recorded one, its colour direction and how much that turns between subjects, the
per-pixel noise, slow drift, and how much of the input the network soft-clips. Figures
are mean ± sd over subjects. Writes a Markdown table (`--out`), the figures as JSON
(`--json`, default beside `--out`) and the mean noise spectra of green beside the pulse
(`--png`).
"""

import json
import sys
from pathlib import Path

import numpy as np
from absl import app, flags
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hrjax.data import clip_store  # noqa: E402
from hrjax.evaluation import domain_probes, figures  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_multi_string('store', [], 'A store to probe, STORE or STORE:SPLIT (default split: '
                          'test, or train when test is empty). Repeat for each store.')
flags.DEFINE_integer('clips_per_subject', 6, 'At most this many clips of each subject.')
flags.DEFINE_integer('window', 45, 'Moving-mean window (frames) of the second clipped share '
                     '(model.norm_window).')
flags.DEFINE_float('gain', 50.0, "The network's input gain (model.gain).")
flags.DEFINE_string('out', '', 'Markdown table to write (printed either way).')
flags.DEFINE_string('json', '', 'JSON of every figure (default: --out with .json).')
flags.DEFINE_string('png', '', 'PNG of the mean noise spectra.')
flags.DEFINE_bool('per_subject', False, "Also a table per store: each subject's delay clip by "
                  'clip (in time order), pulse strength and SNR.')
flags.DEFINE_bool('progress', True, 'Show progress bars.')

ROWS = [('pulse_amp_pct', 'pulse in green, % of the level', 3),
        ('inband_noise_pct', 'other in-band change of green, %', 3),
        ('green_snr_db', 'green SNR against the recorded pulse, dB', 1),
        ('chrom_snr_db', 'CHROM spectral SNR at the recorded rate, dB', 1),
        ('lag_frames', 'face pulse delay behind the recorded one, frames', 1),
        ('pixel_noise_pct', "median pixel's in-band change, %", 2),
        ('drift_pct', 'slow change (< 0.5 Hz) of the mean green, %', 2),
        ('clipped_clip_mean', 'input samples soft-clipped about the clip mean', 4),
        ('clipped_window', 'input samples soft-clipped about a moving mean', 4)]
assert [key for key, _, _ in ROWS] == list(domain_probes.SCALARS)


def parse(spec: str) -> tuple[str, str]:
  store, colon, split = spec.rpartition(':')
  if colon and split in clip_store.SPLITS:
    return store, split
  header = clip_store.read_header(spec)  # names a folder that is not a store
  return spec, 'test' if header['splits'].get('test') else 'train'


def chosen_clips(split: clip_store.Split, per_subject: int) -> np.ndarray:
  """Up to `per_subject` clips of each subject, evenly spaced through its clips."""
  subjects = split.subjects
  picked = []
  for s in np.unique(subjects):
    idx = np.flatnonzero(subjects == s)
    picked += list(idx[np.unique(np.linspace(0, len(idx) - 1, per_subject).round().astype(int))])
  return np.array(sorted(picked))


def probe_store(store: str, split_name: str) -> dict:
  split = clip_store.open_split(store, split_name)
  if not len(split):
    raise SystemExit(f'store_probes: error: {store}/{split_name}: no clips')
  fps = float(split.header.get('fps', 30.0))
  idx = chosen_clips(split, FLAGS.clips_per_subject)
  per_clip = []
  for i in tqdm(idx, desc=f'{store} [{split_name}]', disable=not FLAGS.progress):
    heart = np.asarray(split.heart[i])
    wave = heart[:, 0] if split.rows[i].get('has_waveform', True) else None
    per_clip.append(domain_probes.clip_probes(
        np.asarray(split.video[i]), wave, float(heart[:, 1].mean()), fps,
        gain=FLAGS.gain, window=FLAGS.window))
  subjects = [split.rows[i]['subject'] for i in idx]
  summary = domain_probes.store_summary(per_clip, subjects)
  summary.update(store=store, split=split_name, fps=fps, frames=int(split.video.shape[1]))
  order = sorted(range(len(idx)), key=lambda k: (subjects[k], split.rows[idx[k]]['start_s']))
  summary['clips_probed'] = [dict(subject=subjects[k], start_s=split.rows[idx[k]]['start_s'],
                                  **{key: per_clip[k][key] for key in domain_probes.SCALARS})
                             for k in order]
  return summary


def subject_table(result: dict) -> str:
  lines = [f"{result['store']} [{result['split']}] by subject:", '',
           '| subject | clips | delay by clip, frames (time order) | pulse in green, % | '
           'green SNR, dB |', '| --- | --- | --- | --- | --- |']
  clips = result['clips_probed']
  for s in dict.fromkeys(c['subject'] for c in clips):
    mine = [c for c in clips if c['subject'] == s]
    lags = ' '.join(f"{c['lag_frames']:.0f}" for c in mine)
    lines.append(f"| {s} | {len(mine)} | {lags} | "
                 f"{np.mean([c['pulse_amp_pct'] for c in mine]):.3f} | "
                 f"{np.mean([c['green_snr_db'] for c in mine]):.1f} |")
  return '\n'.join(lines)


def table(results: list[dict]) -> str:
  head = ['probe'] + [f"{r['store']} [{r['split']}], {r['subjects']} subjects, {r['clips']} clips"
                      for r in results]
  lines = ['| ' + ' | '.join(head) + ' |', '|' + ' --- |' * len(head)]
  for key, text, digits in ROWS:
    cells = [f"{r[key]['mean']:.{digits}f} ± {r[key]['sd']:.{digits}f}"
             if np.isfinite(r[key]['mean']) else '- (no waveform)' for r in results]
    lines.append('| ' + ' | '.join([f'{text} (`{key}`)'] + cells) + ' |')
  dirs = [', '.join(f'{v:.2f}' for v in r['pulse_dir']['mean'])
          + f"; {r['pulse_dir']['spread_deg']:.1f}°" if np.isfinite(r['pulse_dir']['spread_deg'])
          else '- (no waveform)' for r in results]
  lines.append('| ' + ' | '.join(['pulse colour direction (R, G, B darkening); mean angle of a '
                                  'subject from it'] + dirs) + ' |')
  return '\n'.join(lines)


def plot(results: list[dict], path: str) -> None:
  plt = figures.pyplot()
  fig, ax = plt.subplots(figsize=(6.4, 3.8))
  for r in results:
    spec = np.array(r['noise_spectrum'])
    hz = np.fft.rfftfreq(r['frames'], 1.0 / r['fps'])
    ax.semilogy(hz[1:], 1e4 * spec[1:], label=f"{r['store']} [{r['split']}]")  # %^2
  ax.axvspan(0.6, 3.3, color='0.9', zorder=0, label='heart band')
  ax.set_xlabel('Hz')
  ax.set_ylabel('power (%² of the level; FFT, Hann window)')
  ax.set_title('green beside the pulse: mean spectrum over clips')
  ax.legend(fontsize=7)
  figures.save_png(fig, path)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  if not FLAGS.store:
    raise app.UsageError('name at least one --store')
  results = []
  for spec in FLAGS.store:
    try:
      results.append(probe_store(*parse(spec)))
    except (OSError, ValueError) as e:  # no store, an old format, unreadable arrays
      raise SystemExit(f'store_probes: error: {e}') from None
  text = table(results)
  if FLAGS.per_subject:
    text += ''.join('\n\n' + subject_table(r) for r in results)
  print(text)
  if FLAGS.out:
    Path(FLAGS.out).parent.mkdir(parents=True, exist_ok=True)
    Path(FLAGS.out).write_text(text + '\n')
  json_path = FLAGS.json or (str(Path(FLAGS.out).with_suffix('.json')) if FLAGS.out else '')
  if json_path:
    Path(json_path).write_text(json.dumps(results, indent=1))
  if FLAGS.png:
    plot(results, FLAGS.png)


if __name__ == '__main__':
  app.run(main)
