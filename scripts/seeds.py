r"""Train one config with several seeds; evaluate every checkpoint on its test split and on
other clip stores; tabulate each run and the spread over seeds.

  python scripts/seeds.py --config configs/quick.py --seeds 0,1,2,3,4 \
      --eval_store data/ubfc-dev/face-store --out docs/seeds-quick.md

A single run's bootstrap interval covers the test subjects, not the training: two
runs that differ only in `config.seed` (initialisation, data order, augmentation)
can land further apart than that interval suggests, most of all on data unlike the
training data. Each seed runs `python -m hrjax.main --config CONFIG --workdir
RUNS/NAME-seedS --config.seed=S` (resuming from that workdir's checkpoints), then
`--mode eval --config.data.store=STORE --report_dir RUNS/NAME-seedS/eval-STORE` for
every --eval_store. The baselines do not depend on the seed; their scores are given
once per store, on the same pairs.
"""

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from absl import app, flags

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hrjax.evaluation.report import two_afc_cell  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string('config', 'configs/quick.py', 'Experiment config (a path, as for hrjax.main).')
flags.DEFINE_list('seeds', ['0', '1', '2'], 'Values of config.seed, one run each.')
flags.DEFINE_multi_string('eval_store', [], 'Further clip store to evaluate every run on '
                          '(its test split); repeatable.')
flags.DEFINE_string('out', 'docs/seeds.md', 'Markdown tables to write.')
flags.DEFINE_string('runs', 'runs/seeds', "Parent folder of the runs' workdirs.")
flags.DEFINE_multi_string('set', [], 'Config override passed to every run, e.g. '
                          '--set=train.steps=200.')


def main_command(workdir: Path, seed: str, *extra: str) -> list[str]:
  return [sys.executable, '-m', 'hrjax.main', f'--config={FLAGS.config}', f'--workdir={workdir}',
          f'--config.seed={seed}', '--noprogress', *[f'--config.{s}' for s in FLAGS.set], *extra]


def run(cmd: list[str]) -> float:
  print('$', ' '.join(cmd), flush=True)
  t0 = time.time()
  subprocess.run(cmd, check=True, env=dict(os.environ))
  return time.time() - t0


def summary(values: list[float]) -> str:
  """Mean, sample standard deviation and range of one score over seeds."""
  sd = statistics.stdev(values) if len(values) > 1 else float('nan')
  return (f'{statistics.fmean(values):.3f} ± {sd:.3f} '
          f'({min(values):.3f}-{max(values):.3f})')


def store_table(store: str, reports: dict[str, dict], minutes: dict[str, float]) -> list[str]:
  """One store's rows: each seed, then hrjax's spread over seeds, then the baselines."""
  first = next(iter(reports.values()))
  lines = [f'### {store} [{first["split"]}]: {first["clips"]} clips, {first["subjects"]} subjects',
           '', '| run | hrjax 2AFC [95% CI over subjects] | hrjax AUC | min (train, every eval) |',
           '| --- | --- | --- | --- |']
  for seed, r in reports.items():
    m = r['methods']['hrjax']
    lines.append(f"| seed {seed} | {two_afc_cell(m)} | {m['auc']:.3f} | "
                 f"{minutes[seed]:.1f} |")
  two_afc = [r['methods']['hrjax']['two_afc'] for r in reports.values()]
  auc = [r['methods']['hrjax']['auc'] for r in reports.values()]
  lines.append(f'| **{len(reports)} seeds: mean ± sd (range)** | {summary(two_afc)} | '
               f'{summary(auc)} | |')
  for name, m in first['methods'].items():
    if name != 'hrjax':
      lines.append(f"| {name} (no seed) | {two_afc_cell(m)} | "
                   f"{m['auc']:.3f} | |")
  return lines + ['']


def slug(store: str) -> str:
  return store.strip('/').replace('/', '-')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  path, _, arg = FLAGS.config.partition(':')
  name = Path(path).stem + (f'-{arg}' if arg else '')
  stores = ['(config)'] + FLAGS.eval_store
  reports = {s: {} for s in stores}
  minutes = {}
  out = Path(FLAGS.out)
  for seed in FLAGS.seeds:
    workdir = Path(FLAGS.runs) / f'{name}-seed{seed}'
    seconds = run(main_command(workdir, seed))
    reports['(config)'][seed] = json.loads((workdir / 'eval' / 'report.json').read_text())
    for store in FLAGS.eval_store:
      report_dir = workdir / f'eval-{slug(store)}'
      seconds += run(main_command(workdir, seed, '--mode=eval', f'--config.data.store={store}',
                                  f'--report_dir={report_dir}'))
      reports[store][seed] = json.loads((report_dir / 'report.json').read_text())
    minutes[seed] = seconds / 60
    lines = [f'# {FLAGS.config}: {len(minutes)} training seeds', '',
             f'`{" ".join(sys.argv)}`', '']
    for store in stores:
      label = reports['(config)'][seed]['store'] if store == '(config)' else store
      lines += store_table(label, reports[store], minutes)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text('\n'.join(lines))  # after each seed: a cut run keeps its rows
  print(out.read_text())


if __name__ == '__main__':
  app.run(main)
