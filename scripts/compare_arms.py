r"""Recipes side by side, paired seed by seed: which change moved the out-of-domain figures
by more than their spread?

  python scripts/compare_arms.py --arm R=runs/arms/R.json --arm P=runs/arms/P.json \
      --reference R

Each `--arm NAME=FILE` is the JSON `scripts/transfer.py` writes beside its table (hrjax's
2AFC per seed and test set). Per test set: every arm's per-seed figures, their mean ± sd,
and against the reference arm the paired differences over the seeds both have, their mean
± sd, and whether they clear the rule recipes are chosen by: every paired difference of one
sign and their mean beyond their sd.
"""

import json
import sys
from pathlib import Path

from absl import app, flags

sys.path.insert(0, str(Path(__file__).resolve().parent))

from transfer_table import paired_table  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_multi_string('arm', [], 'NAME=FILE: a recipe and the JSON of its transfer.py run.')
flags.DEFINE_string('reference', '', 'The arm the others are paired with (default: the first).')
flags.DEFINE_enum('measure', 'two_afc', ['two_afc', 'recording'],
                  'Per clip (two_afc) or per recording.')
flags.DEFINE_string('out', '', 'Markdown file to write (printed either way).')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  arms = {}
  for spec in FLAGS.arm:
    name, eq, path = spec.partition('=')
    if not eq or not Path(path).is_file():
      raise app.UsageError(f'--arm {spec!r}: expected NAME=FILE, an existing transfer.py JSON')
    arms[name] = json.loads(Path(path).read_text())['seeds']
  if not arms:
    raise app.UsageError('give at least one --arm NAME=FILE')
  reference = FLAGS.reference or next(iter(arms))
  if reference not in arms:
    raise app.UsageError(f'--reference {reference!r} is not one of the arms')
  stores = list(dict.fromkeys(s for seeds in arms.values() for v in seeds.values() for s in v))
  lines = [f'2AFC {"per clip" if FLAGS.measure == "two_afc" else "per recording"}, hrjax; '
           f'paired with {reference} seed by seed', '']
  for store in stores:
    lines += paired_table(arms, reference, store, FLAGS.measure)
  text = '\n'.join(lines)
  if FLAGS.out:
    Path(FLAGS.out).write_text(text)
  print(text)


if __name__ == '__main__':
  app.run(main)
