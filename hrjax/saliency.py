r"""Which parts of the face carry the heartbeat: integrated gradients over a trained model.

  python -m hrjax.saliency --workdir runs/demo                 # test split of its store
  python -m hrjax.saliency --workdir runs/demo --store data/ubfc-dev/store --clips 64

Attributes each clip's own-pair score to its pixels (`hrjax/evaluation/saliency.py`
says how) and, where the store holds region maps, sums it per face region.
Writes WORKDIR/saliency/ (saliency.png, saliency.json, mean_attribution.npy) and
TensorBoard images, and prints the region table.
"""

from __future__ import annotations

from pathlib import Path

from absl import app, flags

from hrjax import cli
from hrjax.evaluation import saliency
from hrjax.training.writer import MetricWriter

FLAGS = flags.FLAGS


def define_flags() -> None:
  """Command-line flags, defined only when run as a program (tests import the module)."""
  flags.DEFINE_string('workdir', None, 'Training workdir (config.json and checkpoints/).')
  flags.DEFINE_string('store', None, "Clip store (default: the checkpoint config's).")
  flags.DEFINE_string('split', None, "Split (default: the config's eval split).")
  flags.DEFINE_integer('clips', 32, 'Clips to attribute, spread over the split.')
  flags.DEFINE_integer('steps', 16, 'Integrated-gradient path steps.')
  flags.DEFINE_integer('step', None, 'Checkpoint step (default: the latest).')
  flags.DEFINE_string('out', None, 'Output folder (default: WORKDIR/saliency).')


def main(argv):
  cli.start(argv)
  with cli.user_errors('saliency'):
    result = saliency.compute(FLAGS.workdir, FLAGS.store, FLAGS.split, FLAGS.clips, FLAGS.steps,
                              FLAGS.step)
  out = Path(FLAGS.out or Path(FLAGS.workdir) / 'saliency')
  image = saliency.write(result, out)
  writer = MetricWriter(Path(FLAGS.workdir) / 'tensorboard')
  writer.write_images(result['checkpoint_step'], {'saliency/integrated_gradients': image[None]})
  if result['regions']:
    writer.write_scalars(result['checkpoint_step'], {
        f'saliency/score_share_{n}': v['score_share'] for n, v in result['regions'].items()})
  writer.close()
  print(f"saliency of {result['clips']} clips ({len(result['subjects'])} subjects) -> {out}")
  if result['regions']:
    print(f"{'region':<12}{'score share':>13}{'95% over subjects':>20}{'|attr| share':>14}"
          f"{'image area':>12}")
    for name, v in result['regions'].items():
      lo, hi = v['score_share_ci']
      print(f"{name:<12}{v['score_share']:>13.1%}{f'[{lo:.1%}, {hi:.1%}]':>20}"
            f"{v['mass_share']:>14.1%}{v['area']:>12.1%}")
  else:
    print('no region maps in this store: no region table')


if __name__ == '__main__':
  define_flags()
  flags.mark_flags_as_required(['workdir'])
  app.run(main)
