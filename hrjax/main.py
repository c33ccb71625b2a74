"""Train and evaluate a heart-video pairing model.

  python -m hrjax.main --config configs/quick.py --workdir runs/quick
  python -m hrjax.main --config configs/quick.py --workdir runs/quick --mode eval
  python -m hrjax.main --config configs/default.py:hard --config.model.representation=hr ...

The config names the data (a dataset folder and the clip store extracted from
it; the synthetic dataset is generated when missing), the model and training.
Building the store is this entry point's job (every mode but eval; `--mode data`
only that); training resumes from the latest checkpoint in --workdir. Outputs
under --workdir: config.json, checkpoints/, tensorboard/, eval/report.json.
"""

from pathlib import Path

from absl import app, flags, logging
from ml_collections import config_flags

from hrjax import allocator, cli

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file('config', None, 'Experiment config file (configs/*.py[:arg]).',
                                lock_config=True)
flags.DEFINE_string('workdir', None, 'Directory for checkpoints, TensorBoard and reports.')
flags.DEFINE_enum('mode', 'train', ['train', 'eval', 'data'],
                  'train: build the clip store if needed, train (resuming if possible), then '
                  'evaluate. eval: restore the latest checkpoint from --workdir and evaluate '
                  'only. data: only build the clip store the config names.')
flags.DEFINE_integer('step', None, 'With --mode eval: the checkpoint step to restore '
                     '(default: the latest).')
flags.DEFINE_string('report_dir', None, 'With --mode eval: write the report here instead of '
                    'WORKDIR/eval (e.g. when evaluating on another --config.data.store).')
flags.DEFINE_bool('progress', True, 'Show progress bars.')
flags.DEFINE_string('coordinator', None, 'Several processes: host:port of process 0 '
                    '(or HRJAX_COORDINATOR; Slurm and Open MPI are detected).')
flags.DEFINE_integer('num_processes', None, 'Several processes: how many (or '
                     'HRJAX_NUM_PROCESSES).')
flags.DEFINE_integer('process_id', None, 'Several processes: this one, 0 .. num_processes-1 '
                     '(or HRJAX_PROCESS_ID).')
flags.mark_flags_as_required(['config', 'workdir'])


def ready_store(cfg, progress: bool) -> Path:
  """The config's clip store, built first where it is missing. With several processes,
  process 0 builds it while the others wait; they then check it at the same path (a
  shared file system, or a copy made beforehand)."""
  import jax

  from hrjax.data import prepare
  from hrjax.training import distributed
  if jax.process_index() == 0:
    store = prepare.ensure_store(cfg, progress)
  distributed.barrier('clip store ready')
  if jax.process_index() != 0:
    store = Path(cfg.data.store)
    if not (store / 'header.json').is_file():
      raise FileNotFoundError(f'{store}: process {jax.process_index()} cannot see the clip '
                              'store process 0 built; put it on a shared file system')
    prepare.check_store(cfg)
  return store


def main(argv):
  cli.start(argv)
  import jax  # after flag parsing, so --help stays fast

  from hrjax import config_check
  from hrjax.evaluation import evaluate
  from hrjax.training import distributed, train
  distributed.initialize(FLAGS.coordinator, FLAGS.num_processes, FLAGS.process_id)
  logging.info('JAX process %d of %d, %d local devices of %d', jax.process_index(),
               jax.process_count(), jax.local_device_count(), jax.device_count())
  with cli.user_errors('hrjax'):
    config_check.check(FLAGS.config)
    if FLAGS.mode == 'eval':
      evaluate.evaluate_checkpoint(FLAGS.config, FLAGS.workdir, FLAGS.step, FLAGS.report_dir)
      return
    store = ready_store(FLAGS.config, FLAGS.progress)
    if FLAGS.mode == 'data':
      print(f'clip store ready: {store}')
    else:
      train.train_and_evaluate(FLAGS.config, FLAGS.workdir, progress=FLAGS.progress)


def run():
  allocator.tune_malloc()
  app.run(main, flags_parser=cli.parse_flags)


if __name__ == '__main__':
  run()
