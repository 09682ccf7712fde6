"""A check on a docs page that does not come out as the page expects fails the build.

The docs' extension (docs/_ext/normrnn_docs.py) runs the gradient checks while
the pages are built.  A section's check must pass, and a formula of the notes
shown as an erratum must fail; anything else is an error of the build, even
without ``-W``.  Tested on its own logic, and on tiny Sphinx projects.
"""

import importlib.util
import os
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXT = os.path.join(ROOT, "docs", "_ext")

pytest.importorskip("sphinx", reason="Sphinx (the docs extra) is not installed")

_spec = importlib.util.spec_from_file_location("normrnn_docs", os.path.join(EXT, "normrnn_docs.py"))
normrnn_docs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(normrnn_docs)


def test_expected_verdicts_give_nothing():
    assert normrnn_docs.unexpected_results([("a section", True, True),
                                            ("an erratum", False, False)]) == []


def test_a_failing_section_and_a_passing_erratum_are_named():
    messages = normrnn_docs.unexpected_results([("the bias gradient", False, True),
                                                ("erratum 3", True, False)])
    assert messages == [
        "the bias gradient FAILS its check, but is expected to pass",
        "erratum 3 passes its check, but is expected to fail"]


def _build(tmp_path, body, conf_extra=""):
    """Build a one-page project with the extension; return the finished process."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(textwrap.dedent(f"""\
        import sys
        sys.path.insert(0, {EXT!r})
        extensions = ["sphinx.ext.autodoc", "normrnn_docs"]
        normrnn_annotate_kernels = False
        """) + textwrap.dedent(conf_extra))
    (src / "index.rst").write_text("Page\n====\n\n" + textwrap.dedent(body))
    return subprocess.run([sys.executable, "-m", "sphinx", "-q", "-b", "html", str(src),
                           str(tmp_path / "out")], capture_output=True, text=True, cwd=ROOT)


def test_passing_checks_and_an_erratum_that_fails_build(tmp_path):
    done = _build(tmp_path, """\
        .. gradcheck:: bias
           :dtypes: float64

        .. erratum-check:: 1
        """)
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "out" / "index.html").read_text()
    assert "FAILS" in page and "passes" in page        # the erratum, and the fix


def test_a_failing_section_check_fails_the_build(tmp_path):
    # conf.py replaces the check by one whose result is a failure
    done = _build(tmp_path, """\
        .. gradcheck:: bias
           :dtypes: float64
        """, conf_extra="""\
        import dataclasses
        from normrnn import gradcheck
        _real = gradcheck.check_all
        def _failing(**kw):
            return [dataclasses.replace(r, error=1.0) for r in _real(**kw)]
        gradcheck.check_all = _failing
        """)
    assert done.returncode != 0
    assert "the bias gradient of" in done.stderr
    assert "FAILS its check, but is expected to pass" in done.stderr


def test_a_check_that_raises_fails_the_build_without_w(tmp_path):
    done = _build(tmp_path, """\
        .. erratum-check:: 99
        """)
    assert done.returncode != 0
    assert "normrnn.notes.ERRATA has no erratum 99" in done.stderr


# --- kernel signatures on the API page ---------------------------------------------

def _kernel_functions():
    """(module, function) for every public ``def`` of the kernels that takes arrays."""
    import importlib
    found = []
    for stem in ("section_kernels", "bptt_by_section", "bptt_gathered", "lockstep"):
        module = importlib.import_module(f"normrnn._kernels.{stem}")
        for name, obj in sorted(vars(module).items()):
            if name.startswith("_") or not callable(obj) or isinstance(obj, type):
                continue
            signature = normrnn_docs._pyx_signature(obj)
            if signature and "[" in signature:
                found.append(pytest.param(module, obj, id=f"{stem}.{name}"))
    return found


@pytest.mark.parametrize("module, function", _kernel_functions())
def test_kernel_signature_is_python_and_every_argument_is_marked(module, function):
    import ast
    signature = normrnn_docs._pyx_signature(function)
    # Sphinx renders a signature it can parse as Python; the source's
    # "# IN  (V, H)" comments are left out of it
    parsed = ast.parse(f"def f{signature}: pass").body[0].args
    names = [a.arg for a in parsed.args]
    rows = normrnn_docs.kernel_arguments(normrnn_docs._pyx_text(function), function.__name__)
    # ... and shown in the table below the docstring: every argument, in order,
    # with its role and a shape or meaning
    assert [argument for argument, _, _ in rows] == names
    assert all(role in ("IN", "OUT", "INOUT") and text for _, role, text in rows)


def test_kernel_functions_are_found():
    # the parametrization above is not empty by accident
    ids = {p.id for p in _kernel_functions()}
    assert {"section_kernels.logits_backward", "bptt_gathered.document_loss_and_grads",
            "lockstep.batch_loss", "bptt_by_section.document_loss_and_grads_by_section"} <= ids
