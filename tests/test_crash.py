"""SIGKILL a training process mid-run and mid-checkpoint, or let its disk fill during a
checkpoint write: resuming gives the unbroken run's parameters bit for bit (orbax commits a
step by renaming its temporary folder; the grain iterator's position is saved with the
state), and a full or read-only disk stops training with the checkpoint's folder named."""

import random
import shutil
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np

from hrjax.training import restore, train
from tests import ingest_files as files

WORKER = Path(__file__).with_name('crash_worker.py')


def _killed(cfg, workdir, how, k):
  """Run tests/crash_worker.py: its output, after asserting that SIGKILL ended it."""
  proc = subprocess.run([sys.executable, str(WORKER), cfg.data.root, cfg.data.store,
                         str(workdir), how, str(k)], capture_output=True, text=True,
                        timeout=600)
  assert proc.returncode == -9, (how, k, proc.returncode, proc.stdout, proc.stderr[-3000:])
  return proc.stdout


def _newest(workdir) -> int:
  """The newest readable step in `workdir` (0: none yet)."""
  try:
    return restore.load(workdir).step
  except FileNotFoundError:
    return 0


def test_training_killed_after_a_step_and_during_a_checkpoint_write_resumes_exactly(
    tiny_run, tmp_path):
  cfg, full, _ = tiny_run
  work = tmp_path / 'killed'
  first = random.randint(2, 4)  # some step between the first and the last of the 6
  out = _killed(cfg, work, 'after-step', first)
  assert f'killed after step {first}' in out
  saved = _newest(work)  # orbax writes in the background: maybe not even step 1's yet
  assert saved < first, (first, saved)  # the killed step's own checkpoint never written

  out = _killed(cfg, work, 'in-checkpoint', saved + 1)
  assert 'killed writing ' in out, out
  written = out.split('killed writing ')[1].split()[0]
  newest = _newest(work)  # readable: the half-written step is not taken for one
  assert newest <= int(written.split('.')[0]), (written, newest)

  train.train(cfg, work, progress=False)
  _, _, params_full, _ = restore.load(full)
  _, _, params, step = restore.load(work)
  assert step == 6
  assert not list((work / 'checkpoints').glob('*.unreadable*'))  # nothing had to be set aside
  for a, b in zip(jax.tree.leaves(jax.device_get(params_full)),
                  jax.tree.leaves(jax.device_get(params))):
    np.testing.assert_array_equal(a, b, err_msg=f'killed after step {first}, then in {written}')


def _pages(folder: Path) -> int:
  """Memory pages the files under `folder` take on a tmpfs."""
  return sum(-(-f.stat().st_size // 4096) for f in folder.rglob('*') if f.is_file())


def _stopped_on_tmpfs(cfg, work: Path, options: str) -> str:
  """Train `cfg` in `work` with WORKDIR/checkpoints on a tmpfs mounted with `options` (a
  mount namespace of the test's own), its files then copied to WORK/left: the one error
  line the run printed, after asserting it stopped with exit status 1."""
  checkpoints = work / 'checkpoints'
  checkpoints.mkdir(parents=True)
  proc = files.with_tmpfs(
      checkpoints, options,
      f'{sys.executable} {WORKER} {cfg.data.root} {cfg.data.store} {work} as-is 0; '
      f'echo $? > {work}/rc; cp -a {checkpoints}/. {work}/left')
  assert proc.returncode == 0, (proc.returncode, proc.stderr[-3000:])
  assert (work / 'rc').read_text().strip() == '1', proc.stderr[-3000:]
  # orbax and tensorstore log tracebacks of their own around it (from their threads)
  ours = [line for line in proc.stderr.splitlines() if line.startswith('hrjax: error: ')]
  assert len(ours) == 1, proc.stderr[-3000:]
  return ours[0]


def test_a_full_disk_stops_training_naming_the_checkpoint_and_the_newest_one_resumes(
    tiny_run, tmp_path):
  """WORKDIR/checkpoints on a tmpfs with room for two and a half checkpoints (a mount
  namespace of the test's own): a later save fails; training stops with one line naming
  the folder, leaves no temporary folder, and the first checkpoint resumes to the unbroken
  run's parameters."""
  cfg, full, _ = tiny_run
  work, checkpoints = tmp_path / 'full', tmp_path / 'full' / 'checkpoints'
  # two and a half checkpoints: orbax's merge of a step's files holds about two of it for
  # a moment, so with less the first step may fail too; three are kept, so a later one fails
  size_kb = _pages(full / 'checkpoints' / '6') * 4 * 5 // 2
  line = _stopped_on_tmpfs(cfg, work, f'size={size_kb}k')
  assert line.startswith(f'hrjax: error: {checkpoints}/'), line
  assert 'No space left on device' in line and 'resume from step' in line, line
  left = sorted(p.name for p in (work / 'left').iterdir())
  assert left and all(name.isdigit() for name in left), left  # no temporary folder left
  shutil.copytree(work / 'left', checkpoints, dirs_exist_ok=True)
  assert restore.load(work).step == int(max(left, key=int))
  train.train(cfg, work, progress=False)
  _, _, params_full, _ = restore.load(full)
  _, _, params, step = restore.load(work)
  assert step == 6
  for a, b in zip(jax.tree.leaves(jax.device_get(params_full)),
                  jax.tree.leaves(jax.device_get(params))):
    np.testing.assert_array_equal(a, b)


def test_a_read_only_checkpoint_folder_stops_training_naming_it(tiny_run, tmp_path):
  """WORKDIR/checkpoints on a read-only tmpfs: the first save fails; one line names the
  folder and says to make it writable (not to free space), and nothing is left in it."""
  cfg, _, _ = tiny_run
  work = tmp_path / 'ro'
  line = _stopped_on_tmpfs(cfg, work, 'ro,size=64k')
  assert line.startswith(f'hrjax: error: {work / "checkpoints"}'), line
  assert 'Read-only file system' in line and 'make it writable' in line, line
  assert not list((work / 'left').iterdir())


def test_a_temporary_folder_that_reappears_after_removal_is_removed_again(tmp_path):
  """A failed save's array writes may land after its folder was removed (they have no
  thread to wait for): the clean-up keeps removing until the folder stays gone."""
  import threading
  import time

  from hrjax.training import checkpoint
  (tmp_path / '2').mkdir()
  first = tmp_path / f'3{checkpoint.TMP_MARK}'
  (first / 'state').mkdir(parents=True)

  def late_write():
    time.sleep(0.2)
    (first / 'state' / 'late').mkdir(parents=True)
  writer = threading.Thread(target=late_write)
  writer.start()
  removed = checkpoint._remove_partial(tmp_path)
  writer.join()
  assert [p.name for p in removed] == [first.name]
  assert sorted(p.name for p in tmp_path.iterdir()) == ['2']
