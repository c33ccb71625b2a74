r"""What random access over a store larger than memory costs: reads of one clip's size at
random places in a file, against reading it in order.

  python scripts/random_reads.py --file data/synthetic-default-gpu/store-stride6/train/video.npy \
      [--sizes 64K,512K,2560K] [--mb 4096] [--drop_caches]

For each size: `--mb` MB read as blocks of that size at random block-aligned offsets
(`os.pread`, as the loader reads clips), and the same amount read in order, one block after
another. The clips of the quick config are 498 KB (128 x 36 x 36 x 3 uint8), of the GPU
config 2.49 MB. With `--drop_caches` (root only) the page cache is emptied before each
measurement, so the file is read from the disk; without it, pages already cached make
both faster. Prints a Markdown table (MB/s and reads/s).
"""

import os
import sys
import time
from pathlib import Path

import numpy as np
from absl import app, flags

flags.DEFINE_string('file', None, 'A large file (a store\'s video.npy).', required=True)
flags.DEFINE_list('sizes', ['64K', '512K', '2560K'], 'Block sizes (K or M suffix).')
flags.DEFINE_integer('mb', 4096, 'MB read per measurement.')
flags.DEFINE_bool('drop_caches', False, 'Empty the page cache before each measurement '
                  '(writes /proc/sys/vm/drop_caches: root only).')
flags.DEFINE_integer('seed', 0, 'Seed of the random offsets.')
FLAGS = flags.FLAGS


def _bytes(text: str) -> int:
  scale = {'K': 1 << 10, 'M': 1 << 20}.get(text[-1].upper(), 1)
  return int(float(text.rstrip('KkMm')) * scale)


def _drop_caches() -> None:
  os.sync()
  Path('/proc/sys/vm/drop_caches').write_text('3\n')


def _read(fd: int, offsets: np.ndarray, size: int) -> float:
  """Seconds to pread `size` bytes at each offset."""
  started = time.perf_counter()
  for offset in offsets:
    if len(os.pread(fd, size, int(offset))) != size:
      raise SystemExit(f'{FLAGS.file}: short read at {offset}')
  return time.perf_counter() - started


def main(argv):
  del argv
  path = Path(FLAGS.file)
  total = path.stat().st_size
  rng = np.random.default_rng(FLAGS.seed)
  print(f'{path}: {total / 1e9:.1f} GB; {FLAGS.mb} MB read per row'
        f"{'; page cache emptied before each' if FLAGS.drop_caches else ''}\n")
  print('| block | random MB/s | random reads/s | in order MB/s | random / in order |')
  print('| --- | --- | --- | --- | --- |')
  fd = os.open(path, os.O_RDONLY)
  try:
    for text in FLAGS.sizes:
      size = _bytes(text)
      count = max(1, FLAGS.mb * (1 << 20) // size)
      blocks = total // size
      if count > blocks:
        raise SystemExit(f'{path} holds {blocks} blocks of {text}; ask for fewer --mb')
      random_at = rng.choice(blocks, count, replace=False) * size
      start = int(rng.integers(0, blocks - count + 1))
      in_order = (start + np.arange(count)) * size
      seconds = {}
      for name, offsets in (('random', random_at), ('in order', in_order)):
        if FLAGS.drop_caches:
          _drop_caches()
        seconds[name] = _read(fd, offsets, size)
      mb = count * size / 1e6
      print(f"| {text} | {mb / seconds['random']:.0f} | {count / seconds['random']:.0f} | "
            f"{mb / seconds['in order']:.0f} | {seconds['in order'] / seconds['random']:.2f} |",
            flush=True)
  finally:
    os.close(fd)


if __name__ == '__main__':
  sys.exit(app.run(main))
