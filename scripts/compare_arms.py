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
import statistics
from pathlib import Path

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_multi_string('arm', [], 'NAME=FILE: a recipe and the JSON of its transfer.py run.')
flags.DEFINE_string('reference', '', 'The arm the others are paired with (default: the first).')
flags.DEFINE_enum('measure', 'two_afc', ['two_afc', 'recording'],
                  'Per clip (two_afc) or per recording.')
flags.DEFINE_string('out', '', 'Markdown file to write (printed either way).')


def mean_sd(values: list[float]) -> str:
  sd = statistics.stdev(values) if len(values) > 1 else 0.0
  return f'{statistics.fmean(values):.3f} ± {sd:.3f}'


def verdict(diffs: list[float]) -> str:
  """'yes' when every difference has one sign and their mean clears their sd."""
  if len(diffs) < 2:
    return '-'
  same_sign = all(d > 0 for d in diffs) or all(d < 0 for d in diffs)
  clears = abs(statistics.fmean(diffs)) > statistics.stdev(diffs)
  return 'yes' if same_sign and clears else 'no'


def table(arms: dict[str, dict], reference: str, store: str) -> list[str]:
  ref = arms[reference]
  lines = [f'### {store}', '', '| arm | per seed | mean ± sd | paired with '
           f'{reference}, per seed | mean ± sd | beyond the spread |',
           '| --- | --- | --- | --- | --- | --- |']
  for name, seeds in arms.items():
    have = {s: v[store][FLAGS.measure] for s, v in seeds.items() if store in v}
    if not have:
      continue
    row = [name, ', '.join(f'{have[s]:.3f}' for s in sorted(have, key=int)), mean_sd(
        list(have.values()))]
    common = sorted(set(have) & {s for s, v in ref.items() if store in v}, key=int)
    if name == reference or not common:
      row += ['-', '-', '-']
    else:
      diffs = [have[s] - ref[s][store][FLAGS.measure] for s in common]
      row += [', '.join(f'{d:+.3f}' for d in diffs), mean_sd(diffs), verdict(diffs)]
    lines.append('| ' + ' | '.join(row) + ' |')
  return lines + ['']


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
    lines += table(arms, reference, store)
  text = '\n'.join(lines)
  if FLAGS.out:
    Path(FLAGS.out).write_text(text)
  print(text)


if __name__ == '__main__':
  app.run(main)
