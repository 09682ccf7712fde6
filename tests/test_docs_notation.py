"""One symbol per object, one word per index: the notation the model page states, kept.

Grep-level checks over every page, tutorial, exercise and docstring: each old
use of a symbol for a second object fails here.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "docs").glob("*.rst")) + sorted((ROOT / "docs" / "sections").glob("*.rst"))
TUTORIALS = sorted((ROOT / "tutorials").rglob("*.py"))
SOURCES = sorted((ROOT / "normrnn").rglob("*.py")) + sorted((ROOT / "normrnn").rglob("*.pyx"))
TEXTS = PAGES + TUTORIALS + SOURCES

_ROLE = re.compile(r":math:`([^`]+?)`|(?<![`:\w])`((?:[^`\n]|\n(?!\s*\n))+?)`(?![`_])")


def _math(path):
    """(line number, formula) for every formula of a page or tutorial; roles may span lines."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    default_math = ".. default-role:: math" in text and path.suffix == ".rst"
    found, block = [], None
    for number, line in enumerate(lines, 1):
        body = line.lstrip()
        body = body[1:].lstrip() if path.suffix == ".py" and body.startswith("#") else body
        indent = len(line) - len(line.lstrip("# "))
        if block is not None:
            if body and indent <= block:
                block = None
            elif body:
                found.append((number, body))
                continue
        if body.startswith(".. math::"):
            block = indent
            found.append((number, body[len(".. math::"):]))
    for match in _ROLE.finditer(text):
        formula = match.group(1) if match.group(1) is not None else (
            match.group(2) if default_math else None)
        if formula is not None:
            found.append((text.count("\n", 0, match.start()) + 1, formula.replace("\n", " ")))
    return found


def _where(path, number):
    return f"{path.relative_to(ROOT)}:{number}"


@pytest.mark.parametrize("path", PAGES + TUTORIALS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_formula_writes_a_bare_w(path):
    # W_ih and W_hh are written in full (\Wih, \Whh, W_{\mathrm{..}}); a generic matrix is M
    bare = re.compile(r"(?<![A-Za-z\\])d?W(?![A-Za-z]|_\{\\mathrm)")
    offending = [_where(path, n) + ": " + f for n, f in _math(path) if bare.search(f)]
    assert offending == []


@pytest.mark.parametrize("path", PAGES + TUTORIALS, ids=lambda p: str(p.relative_to(ROOT)))
def test_g_in_a_formula_is_only_the_state_gradient(path):
    # g_t, g_{t+1}, g_t^{(d)}: the gradient with respect to s_t; the gain is \gamma
    gain = re.compile(r"(?<![A-Za-z\\])d?g(_[a-su-z0-9]|_\{[a-su-z0-9]|(?![A-Za-z_]))")
    allowed = re.compile(r"(?<![A-Za-z\\])g(?![A-Za-z_])")        # a section's g = E^T dz
    offending = [_where(path, n) + ": " + f for n, f in _math(path)
                 if gain.search(allowed.sub("", f)) or re.search(r"\\pd\{L\}\{g\}", f)]
    assert offending == []


@pytest.mark.parametrize("path", TEXTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_text_calls_the_gain_g(path):
    text = path.read_text(encoding="utf-8")
    old = re.compile(r"(?<![\w\\])d?g_i\b|gain g\b|\|g\||d loss / d g\b|\bg, (finite|any)")
    offending = [m.group(0) for m in old.finditer(text)]
    assert offending == []


@pytest.mark.parametrize("path", TEXTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_text_writes_an_entry_of_a_bare_w(path):
    text = path.read_text(encoding="utf-8")
    assert re.findall(r"(?<![\w\\(])d?W_(?:ij|ik|kj|il)\b|y = W [vx]\b", text) == []


@pytest.mark.parametrize("path", PAGES + TUTORIALS, ids=lambda p: str(p.relative_to(ROOT)))
def test_u_is_only_the_input(path):
    generic = re.compile(r"(?<![A-Za-z\\])u\s*(\\otimes|\\odot)\s*v|(?<![A-Za-z\\])u v\^")
    offending = [_where(path, n) + ": " + f for n, f in _math(path) if generic.search(f)]
    assert offending == []


def test_positions_and_steps_are_not_mixed():
    bptt = (ROOT / "docs" / "bptt.rst").read_text(encoding="utf-8")
    assert re.search(r"step `t` needs", bptt) is None          # it is position t that needs them
    assert "One step at a time: the notes' order" not in bptt
    autograd = (ROOT / "tutorials" / "plot_8_autograd.py").read_text(encoding="utf-8")
    assert 'set_xlabel("step t")' not in autograd               # g_t and dz_t are positions
    source = (ROOT / "normrnn" / "autograd_check.py").read_text(encoding="utf-8")
    assert "``g``, steps" not in source and "``dz``, steps" not in source


def test_the_model_page_states_the_notation_once():
    model = (ROOT / "docs" / "model.rst").read_text(encoding="utf-8")
    assert model.count("One symbol per object") == 1
    for symbol in (r"`\gamma`", r"`\Wih`", r"`\Whh`", "`g_t`", "`u_t`", "*position* `t`",
                   "*step* `t`"):
        assert symbol in model, symbol


def test_the_extractor_sees_the_formulas_it_checks(tmp_path):
    page = tmp_path / "page.rst"
    page.write_text(".. default-role:: math\n\nA `W_{ij}` and ``W``.\n\n.. math::\n\n   g_i = 1\n\n"
                    "Text :math:`u \\otimes v`.\n", encoding="utf-8")
    assert [f for _, f in _math(page)] == ["", "g_i = 1", "W_{ij}", "u \\otimes v"]
    page.write_text(".. default-role:: math\n\nthat is `dW_{ij} =\n  dS_{ij}`.\n", encoding="utf-8")
    assert [f for _, f in _math(page)] == ["dW_{ij} =   dS_{ij}"]
