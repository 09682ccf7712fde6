"""The section registry: every record names real things, and nothing else lists the sections.

:mod:`normrnn.section_registry` is the one list of the sections.  Each of a
record's fields must resolve: its twins in :mod:`normrnn.reference` and
:mod:`normrnn.sections`, its kernel, its gradient check, its exercise's
inputs and mistakes, its docs page, its Cython exercise's kernel and
wrapper.  And no module of the package may hold a list of sections of its own
(the list the registry replaced), the Cython track's included: the scan below
reads every literal tuple, list, set and dict of the package.
"""

import ast
import inspect
from pathlib import Path

import pytest

from normrnn import gradcheck, reference, section_registry, sections
from normrnn._kernels import modules, section_kernels
from normrnn.exercises import cases, mistakes
from normrnn.exercises.cython import CYTHON
from normrnn.exercises.cython.source import functions
from normrnn.section_registry import NAMES, SECTIONS

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "normrnn"


def _parameters(function):
    return tuple(inspect.signature(function).parameters)


@pytest.mark.parametrize("record", SECTIONS, ids=NAMES)
def test_the_twins_and_the_front_door_have_every_function(record):
    assert record.twins[-1] == record.backward
    for name in record.twins:
        assert callable(getattr(reference, name)), f"reference.{name}"
        assert callable(getattr(sections, name)), f"sections.{name}"
        assert _parameters(getattr(sections, name)) == _parameters(getattr(reference, name))
    assert _parameters(getattr(reference, record.backward)) == record.inputs


@pytest.mark.parametrize("record", SECTIONS, ids=NAMES)
def test_the_kernel_has_the_backward(record):
    assert callable(getattr(section_kernels, record.backward))


@pytest.mark.parametrize("record", SECTIONS, ids=NAMES)
def test_outputs_are_gradients_of_inputs(record):
    assert set(record.wrt) <= set(record.outputs)
    assert set(record.outputs) - set(record.wrt) <= {"loss"}     # the rest: a loss
    # what the gradient check perturbs is what the outputs are gradients of (the
    # forward's inputs: b for the bias, whose backward reads delta alone)
    assert set(gradcheck.check_section(record.name)) == set(record.wrt.values())
    case = cases.make_case(record.name)
    assert list(case.reference) == list(record.outputs)
    assert set(case.finite_differences) == set(record.outputs)


@pytest.mark.parametrize("record", SECTIONS, ids=NAMES)
def test_the_named_functions_exist(record):
    assert callable(getattr(gradcheck, record.draw))
    assert record.mistakes is None or callable(getattr(mistakes, record.mistakes))


@pytest.mark.parametrize("record", SECTIONS, ids=NAMES)
def test_the_docs_page_exists_and_is_listed(record):
    page = ROOT / "docs" / f"{record.docs_page}.rst"
    assert page.is_file()
    index = (ROOT / "docs" / "sections" / "index.rst").read_text(encoding="utf-8")
    assert f"\n   {record.name}\n" in index, f"{record.name} not in the sections' toctree"
    assert record.skeleton.title and record.skeleton.what and record.skeleton.hint
    for name in record.inputs:                       # the skeleton documents every argument
        assert name in record.skeleton.shapes


@pytest.mark.parametrize("record", SECTIONS, ids=NAMES)
def test_the_cython_exercise_names_the_kernel_and_its_wrapper(record):
    kernel = record.cython
    text = (PACKAGE / "_kernels" / kernel.source).read_text(encoding="utf-8")
    found = functions(text)
    assert kernel.kernel in found and kernel.wrapper in found, kernel
    graded = [g for _, _, g in kernel.outputs if g] + [kernel.returns] * bool(kernel.returns)
    assert sorted(graded) == sorted(record.outputs)
    for argument, kind, _ in kernel.outputs:         # the wrapper takes every output array
        assert kind in ("OUT", "INOUT") and argument in found[kernel.wrapper][1]


def test_the_cython_track_is_the_registrys_sections_then_the_whole_document():
    assert list(CYTHON) == [*NAMES, "loss_and_grads"]
    assert all(CYTHON[s.name] is s.cython for s in SECTIONS)


def test_every_section_page_has_a_record():
    pages = {p.stem for p in (ROOT / "docs" / "sections").glob("*.rst")} - {"index"}
    assert pages == set(NAMES)


def test_all_of_the_twins_is_the_registrys():
    assert sections.__all__ == section_registry.twin_names()
    assert reference.__all__[:len(sections.__all__)] == sections.__all__
    # then the whole document, and Grads (what loss_and_grads returns)
    assert set(reference.__all__) - set(sections.__all__) == {"forward", "loss",
                                                              "loss_and_grads", "Grads"}
    assert gradcheck.SECTIONS == NAMES


def test_the_build_compiles_every_kernel_module_listed_once():
    sources = {p.stem for p in (PACKAGE / "_kernels").glob("*.pyx")}
    assert sorted(modules.MODULES) == sorted(sources)
    assert len(set(modules.MODULES)) == len(modules.MODULES)
    setup = (ROOT / "setup.py").read_text(encoding="utf-8")
    assert 'KERNELS = _load("modules").MODULES' in setup


def test_unknown_section_names_the_choices():
    with pytest.raises(ValueError, match="name must be one of"):
        section_registry.section("softmax")


# --- nothing but the registry lists the sections ---------------------------------

#: Section names that are also parameters' (ih, hh, bias, gain): a list of the
#: parameters names them without listing sections.
_PARAMETERS = {"embedding", "ih", "hh", "bias", "gain"}


def _section_of(text):
    """The section a string names, as itself or as one of its functions, else None."""
    for suffix in ("_backward", "_forward", "_case", "_inputs"):
        text = text.removesuffix(suffix)
    text = text.lstrip("_")
    return text if text in NAMES else None


def _literal_strings(node):
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        items = node.elts
    elif isinstance(node, ast.Dict):
        items = [*filter(None, node.keys), *node.values]
    else:
        return []
    return [item.value for item in items
            if isinstance(item, ast.Constant) and isinstance(item.value, str)]


def _section_lists(path):
    """(line, names) of every literal of ``path`` that names two or more sections."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        named = {_section_of(s) for s in _literal_strings(node)} - {None}
        if len(named - _PARAMETERS) >= 2 or len(named) >= 5:
            found.append((node.lineno, sorted(named)))
    return found


def test_the_scan_finds_a_list_of_sections(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('ORDER = ("logits", "activation", "bias")\n'
                      'KERNELS = {"logits_backward": 1, "row_normalise_backward": 2}\n'
                      'PARAMETERS = ("embedding", "ih", "hh", "bias")\n')
    assert [line for line, _ in _section_lists(sample)] == [1, 2]


def test_nothing_but_the_registry_lists_the_sections():
    files = [p for p in PACKAGE.rglob("*.py") if p.name != "section_registry.py"]
    files += [ROOT / "docs" / "conf.py", *(ROOT / "docs" / "_ext").glob("*.py")]
    found = {str(p.relative_to(ROOT)): lists for p in files if (lists := _section_lists(p))}
    assert found == {}
