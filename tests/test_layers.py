"""The layers: no module of the library imports the command line (``normrnn/cli``).

Every ``import`` of every module under ``normrnn/`` is read with :mod:`ast`
(at module level or inside a function, relative or absolute); a module
outside ``normrnn/cli`` that imports ``normrnn.cli`` or one of its modules
is an arrow from the library up to the terminal, and fails.
"""

import ast
import importlib
import sys
import warnings
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "normrnn"

#: The console script, above the command line: it installs its Ctrl-C handler
#: before it imports ``normrnn.cli`` (which it could not do from inside it).
ENTRY_POINT = "normrnn._console"


def _module_name(path, root=PACKAGE):
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(path, root=PACKAGE):
    """The absolute names of the modules ``path`` imports, wherever the import stands."""
    module = _module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            names += [base] + [f"{base}.{alias.name}" for alias in node.names]
    return names


def _is_cli(name):
    return name == "normrnn.cli" or name.startswith("normrnn.cli.")


def upward_imports(root=PACKAGE):
    """``{module: [imported cli modules]}`` for every module outside ``cli/`` importing it."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        module = _module_name(path, root)
        if _is_cli(module):
            continue
        cli = sorted({name for name in _imported(path, root) if _is_cli(name)})
        if cli:
            found[module] = cli
    return found


def test_the_reader_sees_relative_absolute_and_function_level_imports():
    # the parser itself, on the package's own shapes of import
    demo = PACKAGE / "cli" / "demo.py"
    names = _imported(demo)
    assert "normrnn.training.trainer.Trainer" in names          # from ..training.trainer import
    assert "normrnn.cli.outputs" in names                       # from .outputs import, in a function
    assert "normrnn.cli" in _imported(PACKAGE / "_console.py")  # from .cli import main, in a function


def test_an_upward_import_is_found(tmp_path):
    root = tmp_path / "normrnn"
    (root / "cli").mkdir(parents=True)
    (root / "training").mkdir()
    for path in ("__init__.py", "cli/__init__.py", "cli/progress.py", "training/__init__.py"):
        (root / path).write_text("")
    (root / "training" / "trainer.py").write_text(
        "def bar():\n    from ..cli.progress import ProgressBar\n")
    (root / "data.py").write_text("import normrnn.cli\n")
    assert upward_imports(root) == {"normrnn.data": ["normrnn.cli"],
                                    "normrnn.training.trainer": ["normrnn.cli.progress",
                                                                 "normrnn.cli.progress.ProgressBar"]}


def test_no_library_module_imports_the_command_line():
    found = upward_imports()
    found.pop(ENTRY_POINT)
    assert found == {}, f"library modules importing normrnn.cli: {found}"


#: Old module names kept for one release, and where the modules went.
MOVED = {"normrnn.training.atomic": "normrnn.files.atomic",
         "normrnn.training.rescue": "normrnn.files.rescue",
         "normrnn.training.output_lock": "normrnn.files.output_lock",
         "normrnn.testing": "normrnn.exercises.pytest_api",
         "normrnn.data.unigram": "normrnn.baselines",
         "normrnn.training.ngram": "normrnn.baselines"}


@pytest.mark.parametrize("old_name", MOVED)
def test_an_old_name_warns_and_is_the_new_module(old_name):
    new = importlib.import_module(MOVED[old_name])
    sys.modules.pop(old_name, None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = importlib.import_module(old_name)
    assert old is new
    assert any(issubclass(w.category, DeprecationWarning) and MOVED[old_name] in str(w.message)
               for w in caught)
