"""The tests' config: `configs/default.py:runlocal` at paths of the test's own (no side
effects: subprocesses import it too)."""

from configs import default


def tiny_config(root, store):
  """`default.get_config('runlocal')` with its dataset at `root` and its store at `store`."""
  c = default.get_config('runlocal')
  c.data.root, c.data.store = str(root), str(store)
  return c
