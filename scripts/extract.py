r"""Turn a dataset folder into a clip store (one per split, subject-disjoint).

  python scripts/extract.py --dataset ubfc_rppg --root ../shared/data/ubfc-dev \
      --store data/ubfc-dev/store
  python scripts/extract.py --synthetic default --root data/syn/raw --store data/syn/store

With --synthetic DIFFICULTY the dataset is generated first (if --root does not
exist) with the default config's generator settings for that difficulty.
"""

import sys
from pathlib import Path

from absl import app, flags

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hrjax.data import adapters, extract  # noqa: E402
from hrjax.data.video_io import InputError  # noqa: E402

_D = extract.ExtractSettings()
FLAGS = flags.FLAGS
flags.DEFINE_enum('dataset', 'ubfc_rppg', list(adapters.ADAPTERS),
                  'Dataset layout (adapter name); the README describes each.')
flags.DEFINE_string('root', None, 'Dataset folder.', required=True)
flags.DEFINE_string('store', None, 'Clip store to create (must not exist).', required=True)
flags.DEFINE_string('synthetic', None, 'Generate the synthetic dataset of this difficulty '
                    '(easy, default, hard) at --root first, if it does not exist.')
flags.DEFINE_float('fps', _D.fps, 'Frame rate every clip is resampled to.')
flags.DEFINE_integer('clip_frames', _D.clip_frames, 'Frames per clip.')
flags.DEFINE_integer('size', _D.size, 'Clip side in pixels after crop and area resize.')
flags.DEFINE_enum('crop', _D.crop, ['center', 'none'], 'Face crop: a centred square, or none.')
flags.DEFINE_float('crop_fraction', _D.crop_fraction, 'Centred square side / shorter side.')
flags.DEFINE_integer('train_stride', _D.train_stride, 'Frames between training clip starts.')
flags.DEFINE_integer('eval_stride', _D.eval_stride, 'Frames between val/test clip starts.')
flags.DEFINE_list('split_fractions', [str(f) for f in _D.split_fractions],
                  'train,val,test fractions of the subjects.')
flags.DEFINE_integer('split_seed', _D.split_seed, 'Seed of the subject split.')
flags.DEFINE_bool('skip_bad', False, 'Skip unusable recordings (listed at the end) '
                  'instead of stopping at the first.')
flags.DEFINE_bool('progress', True, 'Show progress bars.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {" ".join(argv[1:])}')
  settings = extract.ExtractSettings(
      fps=FLAGS.fps, clip_frames=FLAGS.clip_frames, size=FLAGS.size, crop=FLAGS.crop,
      crop_fraction=FLAGS.crop_fraction, train_stride=FLAGS.train_stride,
      eval_stride=FLAGS.eval_stride,
      split_fractions=tuple(float(f) for f in FLAGS.split_fractions),
      split_seed=FLAGS.split_seed)
  try:
    if FLAGS.synthetic and not Path(FLAGS.root).exists():
      from configs import default
      from hrjax.data import prepare
      from hrjax.data.synthetic import generate
      cfg = default.get_config(FLAGS.synthetic)
      cfg.data.fps = FLAGS.fps
      generate.generate_dataset(FLAGS.root, progress=FLAGS.progress,
                                **prepare.synthetic_settings(cfg))
    summary = extract.extract(FLAGS.dataset, FLAGS.root, FLAGS.store, settings,
                              skip_bad=FLAGS.skip_bad, progress=FLAGS.progress)
  except (InputError, FileExistsError, ValueError) as e:
    print(f'extract: error: {e}', file=sys.stderr)
    sys.exit(1)
  print(f"clip store {summary['store']}: {summary['splits']}")
  print(f"{'recording':<24}{'subject':>10}{'split':>8}{'clips':>7}")
  for row in summary['taken']:
    print(f"{row['recording']:<24}{row['subject']:>10}{row['split']:>8}{row['clips']:>7}")
  for row in summary['skipped']:
    print(f"skipped {row['recording']}: {row['file']}: {row['problem']}")


if __name__ == '__main__':
  app.run(main)
