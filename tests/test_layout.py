"""The package's shape: imports follow the flow (ingest -> store -> pipeline -> model ->
train -> evaluate), and no module or function grows past the size a reader keeps in mind."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INGEST = ('hrjax.data.adapters', 'hrjax.data.crop', 'hrjax.data.extract', 'hrjax.data.face',
          'hrjax.data.heart_files', 'hrjax.data.heart_series', 'hrjax.data.prepare',
          'hrjax.data.resample', 'hrjax.data.synthetic', 'hrjax.data.video_io')


def _module(path: Path) -> str:
  return '.'.join(path.relative_to(ROOT).with_suffix('').parts).removesuffix('.__init__')


def _imports(path: Path) -> set[str]:
  """Every hrjax module `path` imports, at the top or inside a function."""
  out = set()
  for node in ast.walk(ast.parse(path.read_text())):
    if isinstance(node, ast.Import):
      out |= {a.name for a in node.names}
    elif isinstance(node, ast.ImportFrom) and node.module:
      out |= {node.module} | {f'{node.module}.{a.name}' for a in node.names}
  return {m for m in out if m.startswith('hrjax')}


IMPORTS = {_module(p): _imports(p) for p in (ROOT / 'hrjax').rglob('*.py')}


def _within(name: str, packages) -> bool:
  return any(name == p or name.startswith(p + '.') for p in packages)


def _closure(module: str) -> set[str]:
  seen, todo = set(), [module]
  while todo:
    for name in IMPORTS.get(todo.pop(), ()):
      if name in IMPORTS and name not in seen:
        seen.add(name)
        todo.append(name)
  return seen


@pytest.mark.parametrize('layer, forbidden', [
    ('hrjax.data', ('hrjax.models', 'hrjax.training', 'hrjax.evaluation')),
    ('hrjax.models', ('hrjax.data', 'hrjax.training', 'hrjax.evaluation')),
    ('hrjax.training', INGEST),
    ('hrjax.errors', ('hrjax',)),
])
def test_imports_follow_the_flow(layer, forbidden):
  bad = {m: sorted(n for n in names if _within(n, forbidden) and not _within(n, (m,)))
         for m, names in IMPORTS.items() if _within(m, (layer,))}
  assert not {m: b for m, b in bad.items() if b}, f'{layer} imports against the flow'


@pytest.mark.parametrize('program', ['hrjax.predict', 'hrjax.saliency',
                                     'hrjax.evaluation.evaluate'])
def test_prediction_and_saliency_never_load_the_training_loop(program):
  assert 'hrjax.training.train' not in _closure(program)


def test_no_module_over_400_lines_and_no_function_over_60():
  long = []
  for folder in ('hrjax', 'configs', 'scripts', 'tests'):
    for path in (ROOT / folder).rglob('*.py'):
      text = path.read_text()
      if len(text.splitlines()) > 400:
        long.append(f'{path.relative_to(ROOT)}: {len(text.splitlines())} lines')
      for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
          n = node.end_lineno - node.lineno + 1
          if n > 60:
            long.append(f'{path.relative_to(ROOT)}:{node.lineno} {node.name}: {n} lines')
  assert not long, long
