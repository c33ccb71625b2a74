"""Train and evaluate a heart-video pairing model.

  python -m hrjax.main --config configs/quick.py --workdir runs/quick
  python -m hrjax.main --config configs/quick.py --workdir runs/quick --mode eval
  python -m hrjax.main --config configs/default.py:hard --config.model.representation=hr ...

The config names the data (a dataset folder and the clip store extracted from
it; the synthetic dataset is generated when missing), the model and training.
Training resumes from the latest checkpoint in --workdir. Outputs under
--workdir: config.json, checkpoints/, tensorboard/, eval/report.json.
"""

import sys

from absl import app, flags, logging
from ml_collections import config_flags

from hrjax import cli
from hrjax.data.video_io import InputError

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file('config', None, 'Experiment config file (configs/*.py[:arg]).',
                                lock_config=True)
flags.DEFINE_string('workdir', None, 'Directory for checkpoints, TensorBoard and reports.')
flags.DEFINE_enum('mode', 'train', ['train', 'eval', 'data'],
                  'train: train (resuming if possible), then evaluate. '
                  'eval: restore the latest checkpoint from --workdir and evaluate only. '
                  'data: only build the clip store the config names.')
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


def main(argv):
  cli.start(argv)
  import jax  # after flag parsing, so --help stays fast

  from hrjax import distributed, train
  distributed.initialize(FLAGS.coordinator, FLAGS.num_processes, FLAGS.process_id)
  logging.info('JAX process %d of %d, %d local devices of %d', jax.process_index(),
               jax.process_count(), jax.local_device_count(), jax.device_count())
  try:
    if FLAGS.mode == 'train':
      train.train_and_evaluate(FLAGS.config, FLAGS.workdir, progress=FLAGS.progress)
    elif FLAGS.mode == 'data':
      from hrjax.data import prepare
      print(f'clip store ready: {prepare.ensure_store(FLAGS.config, FLAGS.progress)}')
    else:
      train.evaluate_checkpoint(FLAGS.config, FLAGS.workdir, FLAGS.step, FLAGS.report_dir)
  except (InputError, FileNotFoundError, FileExistsError, FloatingPointError, ValueError) as e:
    print(f'hrjax: error: {e}', file=sys.stderr)
    sys.exit(1)


def run():
  cli.tune_malloc()
  app.run(main)


if __name__ == '__main__':
  run()
