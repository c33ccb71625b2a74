r"""Turn a dataset folder into a clip store (one per split, subject-disjoint).

  python scripts/extract.py --dataset ubfc_rppg --root ../shared/data/ubfc-dev \
      --store data/ubfc-dev/store
  python scripts/extract.py --dataset manifest --root my_study/manifest.csv --store data/mine
  python scripts/extract.py --synthetic default --root data/syn/raw --store data/syn/store

Layouts (docs/data.md): ubfc_rppg, ubfc_phys, cohface, mmpd, scamps, ibvp, vipl_hr,
lgi_ppgi, mahnob_hci, pure, roi_mean_hr, manifest. Faces are found with OpenCV's Haar
cascade (--crop face, the default here: real recordings show more than a face); videos
that already show only skin take --crop none.
With --synthetic DIFFICULTY the dataset is generated first (if --root does not
exist) and cropped at the centre, as the configs do (`config.data.crop`): the
synthetic faces are centred and fill the frame.
"""

import sys
from pathlib import Path

from absl import app, flags

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hrjax import cli  # noqa: E402
from hrjax.data import adapters, extract  # noqa: E402

_D = extract.ExtractSettings()
FLAGS = flags.FLAGS
flags.DEFINE_enum('dataset', 'ubfc_rppg', list(adapters.ADAPTERS),
                  'Dataset layout (adapter name); docs/data.md describes each.')
flags.DEFINE_string('root', None, 'Dataset folder.', required=True)
flags.DEFINE_string('store', None, 'Clip store to create (must not exist).', required=True)
flags.DEFINE_string('synthetic', None, 'Generate the synthetic dataset of this difficulty '
                    '(easy, default, hard) at --root first, if it does not exist.')
flags.DEFINE_float('fps', _D.fps, 'Frame rate every clip is resampled to.')
flags.DEFINE_integer('clip_frames', _D.clip_frames, 'Frames per clip.')
flags.DEFINE_integer('size', _D.size, 'Clip side in pixels after crop and area resize.')
flags.DEFINE_enum('crop', 'face', ['face', 'center', 'none'],
                  'face: a face detector (--face_detector), the box enlarged and smoothed '
                  'over time (the default here, for real recordings; the configs crop the '
                  'centre of their synthetic faces); center: a centred square; none: the '
                  'whole frame (skin-region videos).')
flags.DEFINE_enum('face_detector', _D.face_detector, ['haar', 'mediapipe'],
                  "haar: OpenCV's frontal-face cascade (light, in hrjax's environment); "
                  "mediapipe: MediaPipe's FaceMesh (468 landmarks; the store then holds skin-"
                  'region maps per clip), run in its own Python (`make faces`).')
flags.DEFINE_string('face_python', '', 'The Python that has mediapipe 0.10.14 (default: '
                    '$HRJAX_FACE_PYTHON, else .venv-faces/bin/python in the repository).')
flags.DEFINE_float('crop_fraction', _D.crop_fraction, 'Centred square side / shorter side.')
flags.DEFINE_integer('face_every', _D.face_every, 'Run the face detector on every N-th frame.')
flags.DEFINE_float('face_scale', _D.face_scale, 'Crop square side / detected face side.')
flags.DEFINE_enum('face_fallback', _D.face_fallback, ['skip', 'center'],
                  'When no face is found: skip the recording (an error unless --skip_bad), '
                  'or crop the centre with a warning.')
flags.DEFINE_string('offsets', None, 'CSV of "recording,offset_s" rows: heart time = video '
                    'time + offset_s, per recording (overrides the layout\'s own offsets).')
flags.DEFINE_integer('train_stride', _D.train_stride, 'Frames between training clip starts.')
flags.DEFINE_integer('eval_stride', _D.eval_stride, 'Frames between val/test clip starts.')
flags.DEFINE_list('split_fractions', [str(f) for f in _D.split_fractions],
                  'train,val,test fractions of the subjects.')
flags.DEFINE_integer('split_seed', _D.split_seed, 'Seed of the subject split.')
flags.DEFINE_bool('skip_bad', False, 'Skip unusable recordings (listed at the end) '
                  'instead of stopping at the first.')
flags.DEFINE_bool('progress', True, 'Show progress bars.')
flags.DEFINE_integer('workers', 0, 'Processes decoding recordings side by side (0: one per '
                     'CPU; 1: in this process). The store is the same either way.')


def main(argv):
  cli.start(argv)
  crop = 'center' if FLAGS.synthetic and not FLAGS['crop'].present else FLAGS.crop
  settings = extract.ExtractSettings(
      fps=FLAGS.fps, clip_frames=FLAGS.clip_frames, size=FLAGS.size, crop=crop,
      crop_fraction=FLAGS.crop_fraction, face_every=FLAGS.face_every,
      face_scale=FLAGS.face_scale, face_fallback=FLAGS.face_fallback,
      face_detector=FLAGS.face_detector, face_python=FLAGS.face_python,
      train_stride=FLAGS.train_stride,
      eval_stride=FLAGS.eval_stride,
      split_fractions=tuple(float(f) for f in FLAGS.split_fractions),
      split_seed=FLAGS.split_seed)
  nothing = 'nothing was written' + ('' if FLAGS.skip_bad else
                                      ' (--skip_bad skips unusable recordings and lists them)')
  with cli.user_errors('extract', note=nothing):
    if FLAGS.synthetic and not Path(FLAGS.root).exists():
      from configs import default
      from hrjax.data import prepare
      from hrjax.data.synthetic import generate
      cfg = default.get_config(FLAGS.synthetic)
      cfg.data.fps = FLAGS.fps
      generate.generate_dataset(FLAGS.root, progress=FLAGS.progress, workers=FLAGS.workers,
                                **prepare.synthetic_settings(cfg))
    offsets = adapters.read_offsets(FLAGS.offsets) if FLAGS.offsets else None
    summary = extract.extract(FLAGS.dataset, FLAGS.root, FLAGS.store, settings,
                              skip_bad=FLAGS.skip_bad, progress=FLAGS.progress, offsets=offsets,
                              workers=FLAGS.workers)
  print(format_summary(summary))


def format_summary(summary: dict) -> str:
  """What was taken (clips per recording, share of sampled frames with a face) and skipped."""
  lines = [f"clip store {summary['store']}: {summary['splits']}",
           f"{'taken':<8}{'recording':<24}{'subject':>10}{'split':>7}{'clips':>7}{'face':>7}"]
  for row in summary['taken']:
    face = f"{row['face_share']:.0%}" if 'face_share' in row else '-'
    lines.append(f"{'':<8}{row['recording']:<24}{row['subject']:>10}{row['split']:>7}"
                 f"{row['clips']:>7}{face:>7}")
  if summary['skipped']:
    lines.append(f"{'skipped':<8}{'recording':<24}problem")
    for row in summary['skipped']:
      lines.append(f"{'':<8}{row['recording']:<24}{row['file']}: {row['problem']}")
  return '\n'.join(lines)


if __name__ == '__main__':
  app.run(main)
