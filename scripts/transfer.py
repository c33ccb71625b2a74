r"""The out-of-domain protocol: train one recipe with several seeds, evaluate every checkpoint
on faces it never saw, and tabulate mean ± sd over seeds beside GREEN, CHROM and POS on the
very same pairs. Recipes are chosen by this table, never by the training generator's own
test split (shown first, for reference only).

  python scripts/transfer.py --config configs/quick.py --seeds 0,1,2,3,4 \
      --out docs/transfer/quick.md
  python scripts/transfer.py --config configs/real.py --seeds 0,1,2 \
      --set='train.init_from=runs/transfer/quick-seed{seed}' --out docs/transfer/real.md

Test sets: the config's own test split; ubfc-dev real faces (`--ubfc_root`, face crop,
extracted once into `--ubfc_store`; its training store `--ubfc_train_store` too, which a
recipe may mix in with `train.mix`); for rate-only recipes (`model.representation='hr'`)
bias-eval's real skin-region videos with one mean rate each (`--bias_root`, likewise two
stores); any further `--eval_store`. When the recipe trains on a test set's recordings (a
`train.mix` store extracted from the same folder), every seed is trained once per fold of
subjects (one subject each up to `--max_folds` subjects, else that many folds) with the
fold's subjects left out (`train.mix_exclude`), and the set's figure pools the trials
whose heart is a left-out subject's: no figure comes from a heart the model was trained
on. `{seed}` in a `--set` value is replaced by the seed.

Each run is `python -m hrjax.main --config CONFIG --workdir RUNS/NAME-seedS[/FOLD]
--config.seed=S ...` (resuming from its checkpoints), then `--mode eval` on each set.
"""

import functools
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from absl import app, flags

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

sys.path.insert(0, str(Path(__file__).resolve().parent))

import transfer_table  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string('config', 'configs/quick.py', 'Experiment config (a path, as for hrjax.main).')
flags.DEFINE_list('seeds', ['0', '1', '2'], 'Values of config.seed, one run (or fold set) each.')
flags.DEFINE_multi_string('set', [], 'Config override for every run, e.g. --set=train.steps=200; '
                          '{seed} is replaced by the run\'s seed.')
flags.DEFINE_string('ubfc_root', '../shared/data/ubfc-dev', 'UBFC-rPPG-layout folder of real '
                    'faces to test on (skipped with a note when missing; empty: skip).')
flags.DEFINE_string('ubfc_store', 'data/ubfc-dev/face-store', 'Its test store (face crop).')
flags.DEFINE_string('ubfc_train_store', 'data/ubfc-dev/face-train',
                    'Its training store (every subject, train stride), for recipes that mix it in.')
flags.DEFINE_multi_string('eval_store', [], 'A further clip store to test on (its test split).')
flags.DEFINE_string('bias_root', '../shared/data/bias-eval-india', 'roi_mean_hr-layout folder of '
                    'real skin-region videos with one mean rate each: a rate-only test set, for '
                    "recipes whose heart is 'hr' (skipped with a note when missing; empty: skip).")
flags.DEFINE_string('bias_store', 'data/bias-eval/test-store', 'Its test store (no crop).')
flags.DEFINE_string('bias_train_store', 'data/bias-eval/train-store',
                    'Its training store (every subject), for recipes that mix it in.')
flags.DEFINE_integer('max_folds', 5, 'A set the recipe trains on is split into at most this many '
                     'folds of subjects (one per subject when it has no more).')
flags.DEFINE_string('runs', 'runs/transfer', "Parent folder of the runs' workdirs.")
flags.DEFINE_string('peers_python', '', "Python with the `peers` extra (open-rppg) installed, "
                    'to score its pretrained models on every set (scripts/peers.py, in its own '
                    'process); default: this one when it has them, else rows are skipped.')
flags.DEFINE_list('peer_models', ['FacePhys.rlap'], 'open-rppg models to score.')
flags.DEFINE_string('peers_cache', 'runs/peers', "Where the peers' reports are kept (they do "
                    'not depend on the recipe: computed once per store and model list).')
flags.DEFINE_string('out', 'docs/transfer.md', 'Markdown tables to write (after every seed); '
                    "hrjax's figures per seed beside it as JSON (.json), for "
                    'scripts/compare_arms.py.')
flags.DEFINE_boolean('reuse', False, "Keep a run's or a set's report.json when it is newer than "
                     "the workdir's newest checkpoint instead of evaluating again (more seeds "
                     "added to a table); a seed's minutes are then those it took when it ran.")


def run(cmd: list[str]) -> float:
  print('$', ' '.join(cmd), flush=True)
  t0 = time.time()
  subprocess.run(cmd, check=True, env=dict(os.environ))
  return time.time() - t0


def main_command(workdir: Path, seed: str, *extra: str) -> list[str]:
  sets = [s.replace('{seed}', seed) for s in FLAGS.set]
  return [sys.executable, '-m', 'hrjax.main', f'--config={FLAGS.config}', f'--workdir={workdir}',
          f'--config.seed={seed}', '--noprogress', *[f'--config.{s}' for s in sets], *extra]


def ensure_real_stores(representation: str) -> tuple[list[str], list[str]]:
  """The real test stores (and their training stores) this machine has, extracted once;
  and notes on the sets left out."""
  sets = [('ubfc-dev real faces', FLAGS.ubfc_root, 'ubfc_rppg', 'face', FLAGS.ubfc_store,
           FLAGS.ubfc_train_store, False),
          ('bias-eval rate-only regions', FLAGS.bias_root, 'roi_mean_hr', 'none', FLAGS.bias_store,
           FLAGS.bias_train_store, True)]
  stores, notes = [], []
  for label, root, dataset, crop, store, train_store, rate_only in sets:
    if not root:
      continue
    if not Path(root).is_dir():
      notes.append(f'{label}: {root} not found, no rows')
      continue
    if rate_only and representation != 'hr':
      notes.append(f"{label}: not tested, the recipe's heart is {representation!r} and the set "
                   "has only a mean rate per video (recipes with model.representation='hr')")
      continue
    extract = [sys.executable, 'scripts/extract.py', f'--dataset={dataset}', f'--crop={crop}',
               f'--root={root}', '--noprogress']
    for path, fractions in ((store, '0,0,1'), (train_store, '1,0,0')):
      if not (Path(path) / 'header.json').is_file():
        run(extract + [f'--store={path}', f'--split_fractions={fractions}'])
    stores.append(store)
  return stores, notes


def store_root(store: str) -> str | None:
  header = Path(store) / 'header.json'
  return str(Path(json.loads(header.read_text())['root']).resolve()) if header.is_file() else None


def trained_on(config_mix: str, store: str) -> bool:
  """Whether a `train.mix` value names a store extracted from the same recordings as `store`."""
  mixed = [e.rpartition('@')[0] for e in config_mix.split(',') if e.strip()]
  root = store_root(store)
  return root is not None and any(store_root(m) == root for m in mixed)


@functools.cache
def recipe_config():
  """The recipe's config as its file builds it (read once)."""
  path, _, arg = FLAGS.config.partition(':')
  spec = importlib.util.spec_from_file_location('transfer_recipe', path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(arg or None)


def recipe_value(key: str):
  """A field of the recipe's config (e.g. 'train.mix'): from --set, else the config file's."""
  for s in FLAGS.set:
    name, _, value = s.partition('=')
    if name == key:
      return value
  value = recipe_config()
  for part in key.split('.'):
    value = value[part]
  return value


def test_subjects(store: str) -> list[str]:
  rows = (Path(store) / 'test' / 'clips.jsonl').read_text().splitlines()
  return sorted({json.loads(r)['subject'] for r in rows}, key=lambda s: (len(s), s))


def has_waveform(store: str) -> bool:
  first = (Path(store) / 'test' / 'clips.jsonl').read_text().splitlines()[0]
  return bool(json.loads(first).get('has_waveform', True))


def subject_folds(subjects: list[str], max_folds: int) -> dict[str, list[str]]:
  """{workdir name: subjects it leaves out}: one fold per subject (`loso-S`) when there are
  at most `max_folds`, else `max_folds` folds dealt round the sorted subjects."""
  if len(subjects) <= max_folds:
    return {f'loso-{s}': [s] for s in subjects}
  k = max_folds
  return {f'fold{i + 1}-of-{k}': subjects[i::k] for i in range(k)}


def fresh(report: Path, workdir: Path) -> bool:
  """--reuse and `report` was written after the newest checkpoint of `workdir`."""
  steps = list((workdir / 'checkpoints').glob('*'))
  return (FLAGS.reuse and report.is_file() and bool(steps) and
          report.stat().st_mtime > max(p.stat().st_mtime for p in steps))


def train_run(workdir: Path, seed: str, *extra: str) -> tuple[dict, float]:
  """Train (resuming) and evaluate on the config's own test split: its report, seconds."""
  report = workdir / 'eval' / 'report.json'
  seconds = 0.0 if fresh(report, workdir) else run(main_command(workdir, seed, *extra))
  return json.loads(report.read_text()), seconds


def evaluate_on(workdir: Path, seed: str, store: str) -> tuple[dict, float]:
  report_dir = workdir / f'eval-{store.strip("/").replace("/", "-")}'
  seconds = 0.0
  if not fresh(report_dir / 'report.json', workdir):
    seconds = run(main_command(workdir, seed, '--mode=eval', f'--config.data.store={store}',
                               f'--report_dir={report_dir}'))
  return json.loads((report_dir / 'report.json').read_text()), seconds


def one_seed(seed: str, name: str, stores: list[str], loso: dict[str, bool]) -> tuple[dict, float]:
  """Train and evaluate one seed: {store: report or pooled held-out report}, seconds (as
  first measured, kept in the seed's `transfer-seconds.json`, when everything was reused)."""
  base = Path(FLAGS.runs) / f'{name}-seed{seed}'
  seconds, out, ran = 0.0, {}, []
  if not all(loso.values()) or not stores:
    out['(config)'], s = train_run(base, seed)
    seconds += s
    ran.append(s > 0)
  for store in stores:
    if not loso[store]:
      out[store], s = evaluate_on(base, seed, store)
      seconds += s
      ran.append(s > 0)
      continue
    folds = {}
    for fold_name, held_out in subject_folds(test_subjects(store), FLAGS.max_folds).items():
      fold = base / fold_name
      own, s = train_run(fold, seed, f'--config.train.mix_exclude={",".join(held_out)}')
      report, t = evaluate_on(fold, seed, store)
      folds.update({subject: report for subject in held_out})
      seconds += s + t
      ran += [s > 0, t > 0]
      # Trained on every set's recordings: the own test split from the first fold's run.
      out.setdefault('(config)', own)
    out[store] = transfer_table.pool_loso(folds, store)
  record = base / 'transfer-seconds.json'
  if any(ran):  # this invocation's time; `complete`: every run of the seed ran here
    record.write_text(json.dumps(dict(seconds=seconds, complete=all(ran))))
  elif record.is_file():
    seconds = json.loads(record.read_text())['seconds']
  return out, seconds


def peer_reports(stores: list[str]) -> tuple[dict[str, dict], tuple[str, ...]]:
  """{store: scripts/peers.py report}, computed once per store into --peers_cache; and a note
  when the peers are not installed."""
  python = FLAGS.peers_python or sys.executable
  if subprocess.run([python, '-c', 'import rppg'], capture_output=True).returncode:
    return {}, (f"no pretrained peers: open-rppg is not importable by {python} (pip install "
                "-e '.[peers]', or --peers_python)",)
  out = {}
  for store in stores:
    name = f'{store.strip("/").replace("/", "-")}-{"-".join(FLAGS.peer_models)}.json'
    path = Path(FLAGS.peers_cache) / name
    if not path.is_file():
      run([python, 'scripts/peers.py', f'--store={store}', '--noprogress', f'--out={path}',
           f'--models={",".join(FLAGS.peer_models)}'])
    out[store] = json.loads(path.read_text())
  return out, ()


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  path, _, arg = FLAGS.config.partition(':')
  name = Path(path).stem + (f'-{arg}' if arg else '')
  representation = recipe_value('model.representation')
  stores, set_notes = ensure_real_stores(representation)
  stores += FLAGS.eval_store
  mix = recipe_value('train.mix')
  loso = {s: trained_on(mix, s) for s in stores}
  # The peers' pulse is scored against the heart's waveform (scripts/peers.py): beside a
  # waveform recipe only, on sets that have one.
  if representation == 'waveform':
    peers, notes = peer_reports([s for s in stores if has_waveform(s)])
  else:
    peers, notes = {}, ('no pretrained peers: they are scored against waveforms, this '
                        f'recipe pairs by {representation}',)
  notes = (*set_notes, *notes)
  if FLAGS.reuse:
    notes += ('--reuse: reports newer than their checkpoints were kept; a seed run earlier '
              'shows the minutes it took then (while other work shared the machine, for some)',)
  reports, minutes = {}, {}
  out = Path(FLAGS.out)
  for seed in FLAGS.seeds:
    reports[seed], seconds = one_seed(seed, name, stores, loso)
    minutes[seed] = seconds / 60
    text = transfer_table.markdown(FLAGS.config, ' '.join(sys.argv), reports, minutes, loso,
                                   peers, notes)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)  # after each seed: a cut run keeps its rows
    out.with_suffix('.json').write_text(json.dumps(dict(
        config=FLAGS.config, command=' '.join(sys.argv),
        seeds=transfer_table.seed_figures(reports)), indent=1))
  print(out.read_text())


if __name__ == '__main__':
  app.run(main)
