"""The code of each section page sits below the derivation, collapsed ("Show the code").

A learner can read a derivation without seeing the answer; the code is still
in the page (searchable, printed open) and one click away.
"""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXT = ROOT / "docs" / "_ext"
SECTIONS = sorted(p for p in (ROOT / "docs" / "sections").glob("*.rst") if p.name != "index.rst")


def _code_blocks(text):
    """(line, inside a show-code block) for every literalinclude of the page."""
    found, inside_indent = [], None
    for number, line in enumerate(text.splitlines(), 1):
        indent = len(line) - len(line.lstrip())
        if inside_indent is not None and line.strip() and indent <= inside_indent:
            inside_indent = None
        if line.lstrip().startswith(".. show-code::"):
            inside_indent = indent
        if line.lstrip().startswith(".. literalinclude::"):
            found.append((number, inside_indent is not None))
    return found


@pytest.mark.parametrize("page", SECTIONS, ids=lambda p: p.stem)
def test_every_section_shows_its_code_collapsed_below_the_derivation(page):
    text = page.read_text(encoding="utf-8")
    blocks = _code_blocks(text)
    assert blocks, f"{page.name} shows no code"
    assert all(inside for _, inside in blocks), f"{page.name}: code outside show-code: {blocks}"
    derivation = text.index("\nDerivation\n----------\n")
    assert derivation < text.index(".. show-code::")
    included = " ".join(re.findall(r"literalinclude:: (\S+)", text))
    assert "reference.py" in included and ".pyx" in included       # NumPy and Cython


def test_the_whole_document_page_collapses_its_answers():
    text = (ROOT / "docs" / "bptt.rst").read_text(encoding="utf-8")
    for number, inside in _code_blocks(text):
        line = text.splitlines()[number - 1]
        if "reference.py" in line or "bptt_gathered.pyx" in line:
            assert inside, f"bptt.rst line {number}: an answer outside show-code"


def test_show_code_is_in_the_html_collapsed_and_searchable(tmp_path):
    pytest.importorskip("sphinx", reason="Sphinx (the docs extra) is not installed")
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(textwrap.dedent(f"""\
        import sys
        sys.path.insert(0, {str(EXT)!r})
        extensions = ["sphinx.ext.autodoc", "normrnn_docs"]
        normrnn_annotate_kernels = False
        """))
    (src / "index.rst").write_text(textwrap.dedent("""\
        Page
        ====

        The derivation first.

        .. show-code::

           .. code-block:: python

              def quokkabackward(delta):
                  return delta.copy()

        .. show-code:: Show the kernel

           Plain words in the block.
        """))
    done = subprocess.run([sys.executable, "-m", "sphinx", "-q", "-W", "-b", "html", str(src),
                           str(tmp_path / "out")], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert done.returncode == 0, done.stderr
    html = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    first = html.index('<details class="show-code">')
    assert html.index("The derivation first.") < first
    assert re.match(r'<details class="show-code">\s*<summary>Show the code</summary>', html[first:])
    block = html[first:html.index("</details>", first)]
    assert "quokkabackward" in block and "<pre" in block
    assert re.search(r'<details class="show-code">\s*<summary>Show the kernel</summary>', html)
    assert "open" not in html[first:first + 40]                   # collapsed until clicked
    assert 'addEventListener("beforeprint"' in html               # printed open
    assert "quokkabackward" in (tmp_path / "out" / "searchindex.js").read_text()
