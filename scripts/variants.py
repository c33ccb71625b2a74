r"""Train and evaluate several experiment variants in turn; tabulate learned vs POS.

  python scripts/variants.py --out docs/variants.md \
      --set=train.steps=1500 configs/default.py:easy configs/default.py:hard \
      configs/hr.py configs/rr_summary.py

Each variant runs `python -m hrjax.main --config VARIANT --workdir runs/variants/NAME`
(resuming if that workdir holds checkpoints) and its wall time is measured. The
table has 2AFC accuracy with the 95% bootstrap interval over subjects for the
learned model and for each baseline on the same pairs.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from absl import app, flags

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hrjax.evaluation.report import two_afc_cell  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string('out', 'docs/variants.md', 'Markdown table to write.')
flags.DEFINE_string('runs', 'runs/variants', 'Parent folder of the variants\' workdirs.')
flags.DEFINE_multi_string('set', [], 'Config override passed to every variant, e.g. '
                          '--set=train.steps=200.')


def run_variant(config: str, workdir: Path) -> float:
  cmd = [sys.executable, '-m', 'hrjax.main', f'--config={config}', f'--workdir={workdir}',
         '--noprogress'] + [f'--config.{s}' for s in FLAGS.set]
  print('$', ' '.join(cmd), flush=True)
  t0 = time.time()
  subprocess.run(cmd, check=True, env=dict(os.environ))
  return time.time() - t0


def row(config: str, report: dict, seconds: float) -> str:
  cells = [config, report['representation'], str(report['subjects']),
           str(report['clips']), str(report.get('parameters', ''))]
  for m in report['methods'].values():
    cells.append(two_afc_cell(m))
  cells.append(f'{seconds / 60:.1f}')
  return '| ' + ' | '.join(cells) + ' |'


def main(argv):
  variants = argv[1:]
  if not variants:
    raise app.UsageError('name one or more configs, e.g. configs/quick.py:hard')
  lines = []
  for config in variants:
    name = config.replace('configs/', '').replace('.py', '').replace(':', '-')
    workdir = Path(FLAGS.runs) / name
    seconds = run_variant(config, workdir)
    report = json.loads((workdir / 'eval' / 'report.json').read_text())
    if not lines:
      methods = list(report['methods'])
      lines += ['| config | heart | test subjects | test clips | parameters | ' +
                ' | '.join(f'{m} 2AFC [95% CI]' for m in methods) + ' | wall min |',
                '|' + ' --- |' * (6 + len(methods))]
    lines.append(row(config, report, seconds))
    Path(FLAGS.out).parent.mkdir(parents=True, exist_ok=True)
    Path(FLAGS.out).write_text('\n'.join(lines) + '\n')  # after each: a cut run keeps rows
  print('\n'.join(lines))


if __name__ == '__main__':
  app.run(main)
