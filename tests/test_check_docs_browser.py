"""The browser check of the built docs (.ci/check_docs_browser.py) on tiny handmade pages.

Each broken page carries one fault of the kind the check exists for (a double
subscript, an image that is not there, a link to a missing page or anchor),
and the check must name it; a clean page must give nothing.  Needs Chromium,
which CI installs (``apt-get install chromium``); without it these tests are
skipped, saying so.
"""

import importlib.util
import os
import shutil

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_spec = importlib.util.spec_from_file_location(
    "check_docs_browser", os.path.join(ROOT, ".ci", "check_docs_browser.py"))
checker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(checker)

needs_chromium = pytest.mark.skipif(
    checker.find_chromium() is None,
    reason="no chromium on PATH: the browser check cannot run here (CI installs it)")

# a 1x1 PNG
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")


def _mathjax_dir():
    """The folder of the MathJax the docs ship (sphinx-mathjax-offline's copy), or None."""
    import importlib.metadata

    try:
        files = importlib.metadata.files("sphinx-mathjax-offline") or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for f in files:
        if str(f).endswith("static/mathjax/tex-chtml.js"):
            return os.path.dirname(str(f.locate()))
    return None


def _page(body, mathjax=False):
    head = ""
    if mathjax:
        head = ('<script>window.MathJax = {tex: {macros: {Whh: "W_{\\\\mathrm{hh}}"}}};'
                '</script><script defer src="tex-chtml.js"></script>')
    return f"<!DOCTYPE html><html><head>{head}</head><body>{body}</body></html>"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A folder of small pages, each with at most one fault."""
    tmp_path = tmp_path_factory.mktemp("site")
    (tmp_path / "dot.png").write_bytes(PNG)
    (tmp_path / "sub").mkdir()
    pages = {
        "index.html": _page('<h1 id="top">ok</h1><img src="dot.png">'
                            '<a href="sub/other.html#there">other</a> <a href="#top">top</a>'
                            ' <a href="https://example.org/x">outside</a>'),
        "sub/other.html": _page('<p id="there">there</p><a href="../index.html">back</a>'),
        "missing_image.html": _page('<img src="_images/gone.png">'),
        "missing_page.html": _page('<a href="nowhere.html">nowhere</a>'),
        "missing_anchor.html": _page('<a href="sub/other.html#not-there">x</a>'
                                     '<a href="#also-not">y</a>'),
    }
    mathjax = _mathjax_dir()
    if mathjax:   # its script beside the pages, its fonts in output/ as it expects
        shutil.copytree(mathjax, tmp_path, dirs_exist_ok=True)
        pages["good_math.html"] = _page(r'<span class="math">\(S_{i\cdot} = (\Whh)_{i\cdot}\)</span>',
                                        mathjax=True)
        pages["double_subscript.html"] = _page(
            r'<span class="math">\(S_{i\cdot} = \Whh_{i\cdot}\)</span>', mathjax=True)
    for name, text in pages.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def _by_page(problems):
    found = {}
    for line in problems:
        page, what = line.split(": ", 1)
        found.setdefault(page, []).append(what)
    return found


@pytest.fixture(scope="module")
def checked(site):
    """The checker's findings on ``site``: one browser run for the tests below."""
    return checker.check_site(str(site))


@needs_chromium
def test_every_fault_is_found_and_nothing_else(site, checked):
    problems, count = checked
    found = _by_page(problems)
    assert count == len(checker.html_pages(str(site)))
    assert "index.html" not in found and os.path.join("sub", "other.html") not in found
    assert found["missing_image.html"][0].startswith("image did not load: _images/gone.png")
    assert any(w.startswith("failed to load") and "gone.png" in w
               for w in found["missing_image.html"])
    assert found["missing_page.html"] == ["link 'nowhere.html': no file nowhere.html"]
    assert sorted(found["missing_anchor.html"]) == [
        "link '#also-not': missing_anchor.html has no anchor #also-not",
        f"link 'sub/other.html#not-there': {os.path.join('sub', 'other.html')} "
        "has no anchor #not-there"]


@needs_chromium
@pytest.mark.skipif(_mathjax_dir() is None,
                    reason="sphinx-mathjax-offline (the docs extra) is not installed")
def test_a_double_subscript_is_a_mathjax_error(checked):
    found = _by_page(checked[0])
    assert "good_math.html" not in found
    assert found["double_subscript.html"] == [
        "MathJax error: Double subscripts: use braces to clarify"]


@needs_chromium
def test_maths_that_mathjax_never_typeset_is_reported(tmp_path):
    (tmp_path / "index.html").write_text(_page(r'<span class="math">\(x\)</span>'))
    problems, _ = checker.check_site(str(tmp_path))
    assert problems == ["index.html: maths left untypeset (MathJax did not run)"]


def test_internal_targets():
    assert checker.internal_target("/r", "a/b.html", "../c.html#x") == ("c.html", "x")
    assert checker.internal_target("/r", "a/b.html", "#y") == ("a/b.html", "y")
    assert checker.internal_target("/r", "a/b.html", "https://e.org/") is None
    assert checker.internal_target("/r", "a/b.html", "mailto:x@y") is None


@needs_chromium
def test_collapsed_code_is_opened_and_must_show_code(tmp_path):
    (tmp_path / "dot.png").write_bytes(PNG)
    (tmp_path / "index.html").write_text(_page(
        '<details class="show-code"><summary>Show the code</summary>'
        '<pre>def bias_backward(delta):</pre><img src="dot.png"></details>'))
    (tmp_path / "empty.html").write_text(_page(
        '<details class="show-code"><summary>Show the kernel</summary><p>words</p></details>'
        '<details><summary>More</summary><img src="gone.png"></details>'))
    problems, count = checker.check_site(str(tmp_path))
    assert count == 2
    found = _by_page(problems)
    assert "index.html" not in found
    assert "'Show the kernel' opens on no visible code" in found["empty.html"]
    assert "image did not load: gone.png" in found["empty.html"]     # what it holds is checked too


@needs_chromium
def test_an_empty_section_navigation_is_reported(tmp_path):
    nav = '<nav class="bd-docs-nav" aria-label="Section Navigation"><p>Section Navigation</p>{}</nav>'
    (tmp_path / "index.html").write_text(_page(nav.format('<a href="index.html">a page</a>')))
    (tmp_path / "empty.html").write_text(_page(nav.format('<div class="bd-toc-item"></div>')))
    problems, count = checker.check_site(str(tmp_path))
    assert count == 2
    assert problems == ["empty.html: an empty 'Section Navigation' sidebar (no page under it)"]
