"""Sphinx extension of the normrnn docs: numbers and code that come from running.

Directives
----------
``.. gradcheck:: SECTION``
    Run :func:`normrnn.gradcheck.check_all` for one section of the notes, in
    float64 and float32, and show the result as a table.
``.. erratum-check:: NUMBER``
    Run :func:`normrnn.gradcheck.check_erratum` on one of the notes' errata and
    show the error it reaches beside the error of the correct formula.
``.. runblock::``
    Execute the Python in the directive's body and show it, followed by what
    it printed.  Blocks of one page share a namespace, top to bottom, and run
    from the repository root, so that paths read as a reader in a clone types
    them.
``.. cython-annotated:: FILE.pyx``
    Embed lines of ``cython -a``'s annotation of a kernel file, yellow and all
    (options ``:start-after:``/``:end-before:`` take the same markers as
    ``literalinclude``, or ``:pyobject:`` names a top-level function).
``.. cython-scores:: FILE.pyx``
    Tabulate, for every top-level function of a kernel file, how many of its
    lines call into the Python C-API according to the annotation.

Every page that uses one of them is rebuilt on every build, so what it shows
is never older than the code.  A check that does not come out as the page
expects fails the build (:func:`unexpected_results`): a section's gradient
check or the package's own formula must pass, and a formula of the notes
shown as an erratum must fail.  The page is still written, with the verdict,
and the build ends with an error naming the page and the check.

Hooks
-----
* ``builder-inited``: annotate ``normrnn/_kernels/*.pyx`` with ``cython -a``
  (with the compiler directives of ``normrnn/_kernels/build_config.py``, as
  setup.py) into ``docs/_static/annotated``;
  and, before sphinx-gallery reads them, write the exercise notebooks
  (:func:`normrnn.exercises.skeletons.notebook`, one per exercise) into the
  folder ``normrnn_exercise_notebooks`` names (``tutorials/exercises``).
* ``autodoc-process-signature``: Cython's ``embedsignature`` cannot describe a
  fused (float32/float64) ``def`` function, so its signature is read from the
  ``.pyx`` source instead.
"""

import contextlib
import importlib.util
import io
import os
import re
import subprocess
import sys
import traceback

import numpy as np
from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

LOGGER = logging.getLogger(__name__)

HERE = os.path.dirname(os.path.abspath(__file__))
DOCS = os.path.dirname(HERE)
ROOT = os.path.dirname(DOCS)
KERNELS = os.path.join(ROOT, "normrnn", "_kernels")
ANNOTATED = os.path.join(DOCS, "_static", "annotated")


# --- pages that execute code are always rebuilt -----------------------------

def _mark_executed(env):
    if not hasattr(env, "normrnn_executed"):
        env.normrnn_executed = set()
    env.normrnn_executed.add(env.docname)


def _purge(app, env, docname):
    getattr(env, "normrnn_executed", set()).discard(docname)
    getattr(env, "normrnn_check_failures", {}).pop(docname, None)


def _merge(app, env, docnames, other):
    if not hasattr(env, "normrnn_executed"):
        env.normrnn_executed = set()
    env.normrnn_executed |= getattr(other, "normrnn_executed", set())
    if not hasattr(env, "normrnn_check_failures"):
        env.normrnn_check_failures = {}
    env.normrnn_check_failures.update(getattr(other, "normrnn_check_failures", {}))


def _outdated(app, env, added, changed, removed):
    return sorted(getattr(env, "normrnn_executed", set()) - set(removed))


# --- checks that must come out as the page says -------------------------------------

def unexpected_results(rows):
    """The checks whose verdict is not the expected one.

    Parameters
    ----------
    rows : iterable of (str, bool, bool)
        ``(what was checked, passed, expected to pass)``.  A section's check
        and the package's formula are expected to pass; the notes' formula of
        an erratum is expected to fail (an erratum that passes its check would
        be no erratum, or a broken check).

    Returns
    -------
    list of str
        One message per unexpected verdict, empty when all are as expected.
    """
    messages = []
    for what, passed, expected in rows:
        if passed != expected:
            messages.append(f"{what} {'passes' if passed else 'FAILS'} its check, "
                            f"but is expected to {'pass' if expected else 'fail'}")
    return messages


def _report_unexpected(directive, rows):
    """Log every unexpected verdict as an error of this page, and remember it."""
    messages = unexpected_results(rows)
    env = directive.env
    if not hasattr(env, "normrnn_check_failures"):
        env.normrnn_check_failures = {}
    for message in messages:
        LOGGER.error("normrnn check: %s", message, location=directive.get_location())
        env.normrnn_check_failures.setdefault(env.docname, []).append(message)


def _error(directive, message):
    """The directive's error for ``message``, remembered so that the build fails.

    ``raise _error(self, ...)`` instead of ``raise self.error(...)``: docutils
    only logs a directive's error, and without ``-W`` the build would succeed
    with a page that shows an error where a check or its output should be.
    """
    env = directive.env
    if not hasattr(env, "normrnn_check_failures"):
        env.normrnn_check_failures = {}
    env.normrnn_check_failures.setdefault(env.docname, []).append(message.splitlines()[0])
    return directive.error(message)


def _fail_on_unexpected(app, exception):
    """At the end of the build: an error if any page's check came out wrong."""
    failures = getattr(app.env, "normrnn_check_failures", {}) if app.env else {}
    if exception is None and any(failures.values()):
        from sphinx.errors import ExtensionError

        lines = [f"{doc}: {m}" for doc, ms in sorted(failures.items()) for m in ms]
        raise ExtensionError("checks on the pages did not come out as expected:\n  "
                             + "\n  ".join(lines))


# --- small docutils helpers ----------------------------------------------------

def _table(header, rows, *, classes=(), widths=None):
    """A docutils table node from a header and rows of strings or nodes."""
    table = nodes.table(classes=["normrnn-table", *classes])
    group = nodes.tgroup(cols=len(header))
    table += group
    for w in widths or [1] * len(header):
        group += nodes.colspec(colwidth=w)

    def row(cells, head=False):
        r = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            if isinstance(cell, nodes.Node):
                entry += cell
            else:
                entry += nodes.paragraph(text=str(cell))
            r += entry
        return r

    thead = nodes.thead()
    thead += row(header, head=True)
    group += thead
    tbody = nodes.tbody()
    for cells in rows:
        tbody += row(cells)
    group += tbody
    return table


def _literal(text, language="python", classes=()):
    block = nodes.literal_block(text, text, classes=list(classes))
    block["language"] = language
    return block


def _verdict(passed):
    text = "passes" if passed else "FAILS"
    return nodes.paragraph("", "", nodes.strong(text=text),
                           classes=["verdict-pass" if passed else "verdict-fail"])


def _fmt(error):
    return f"{error:.2e}"


# --- .. gradcheck:: SECTION ------------------------------------------------------

class GradcheckDirective(SphinxDirective):
    """Run the finite-difference check of one section and tabulate it."""

    required_arguments = 1
    option_spec = {"dtypes": directives.unchanged}

    def run(self):
        from normrnn import gradcheck

        _mark_executed(self.env)
        section = self.arguments[0]
        dtypes = (self.options.get("dtypes") or "float64 float32").split()
        rows, verdicts = [], []
        for name in dtypes:
            try:
                result = gradcheck.check_all(dtype=np.dtype(name), sections=[section])
            except Exception:
                raise _error(self, f"gradcheck of {section!r} ({name}) raised:\n"
                                 + traceback.format_exc())
            if not result:
                raise _error(self, f"gradcheck.check_all returned no row for {section!r}")
            for row in result:
                rows.append([nodes.literal(text=row.wrt), name, _fmt(row.error),
                             _fmt(row.tolerance), _verdict(row.passed)])
                verdicts.append((f"the {section} gradient of {row.wrt} ({name}, error "
                                 f"{_fmt(row.error)})", bool(row.passed), True))
        _report_unexpected(self, verdicts)
        call = "\n".join(
            f'gradcheck.check_all(dtype=numpy.{name}, sections=["{section}"])'
            for name in dtypes)
        intro = nodes.paragraph(
            "", "Computed while this page was built, by ")
        intro += nodes.literal(text="normrnn.gradcheck.check_all")
        intro += nodes.Text(": for every input, the largest relative error between "
                            "the Cython kernel's gradient and central finite "
                            "differences of the forward pass.")
        container = nodes.container(classes=["normrnn-check"])
        container += intro
        container += _literal("from normrnn import gradcheck\n" + call)
        container += _table(["gradient of", "dtype", "max relative error",
                             "tolerance", "result"], rows, widths=[3, 2, 3, 3, 2])
        return [container]


# --- .. erratum-check:: NUMBER ---------------------------------------------------

class ErratumCheckDirective(SphinxDirective):
    """Show one of the notes' errata failing its check, beside the fix passing."""

    required_arguments = 1

    def run(self):
        from normrnn import gradcheck, notes

        _mark_executed(self.env)
        number = int(self.arguments[0])
        by_number = {e.number: e for e in notes.ERRATA}
        if number not in by_number:
            raise _error(self, f"normrnn.notes.ERRATA has no erratum {number}")
        erratum = by_number[number]
        try:
            wrong = float(gradcheck.check_erratum(number))
        except Exception:
            raise _error(self, f"gradcheck.check_erratum({number}) raised:\n"
                             + traceback.format_exc())
        tolerance = _tolerance(gradcheck)
        rows = [["the notes", nodes.literal(text=erratum.notes_formula), _fmt(wrong),
                 _verdict(wrong <= tolerance)]]
        verdicts = [(f"the notes' formula of erratum {number} (error {_fmt(wrong)})",
                     wrong <= tolerance, False)]
        correct = _correct_error(gradcheck, erratum)
        if correct is not None:
            rows.append(["normrnn", nodes.literal(text=erratum.correct_formula),
                         _fmt(correct), _verdict(correct <= tolerance)])
            verdicts.append((f"normrnn's formula for erratum {number} (error {_fmt(correct)})",
                             correct <= tolerance, True))
        _report_unexpected(self, verdicts)
        container = nodes.container(classes=["normrnn-check", "normrnn-erratum"])
        from sphinx.addnodes import pending_xref

        intro = nodes.paragraph("", f"Erratum {number}, checked while this page was built by ")
        api = pending_xref("", refdomain="py", reftype="func",
                           reftarget="normrnn.gradcheck.check_erratum", refexplicit=True,
                           refwarn=True)
        api += nodes.literal(text=f"normrnn.gradcheck.check_erratum({number})")
        intro += api
        intro += nodes.Text(f" (float64; a check passes below a relative error of "
                            f"{_fmt(tolerance)}; the tutorial ")
        tutorial = pending_xref("", refdomain="std", reftype="doc",
                                reftarget="/auto_tutorials/plot_4_errata", refexplicit=True,
                                refwarn=True)
        tutorial += nodes.inline("", "the notes' errata, caught one by one")
        intro += tutorial
        intro += nodes.Text(" runs them all):")
        container += intro
        container += _table(["formula of", "formula", "relative error", "result"], rows,
                            widths=[2, 7, 3, 2])
        return [container]


def _tolerance(gradcheck):
    """The float64 tolerance of the section checks."""
    for name in ("TOLERANCE", "TOLERANCES"):
        value = getattr(gradcheck, name, None)
        if isinstance(value, dict):
            return float(value.get(np.dtype(np.float64), value.get("float64")))
        if value is not None:
            return float(value)
    return float(gradcheck.check_all(dtype=np.float64, sections=["bias"])[0].tolerance)


def _correct_error(gradcheck, erratum):
    """The error of the package's own version of what the erratum gets wrong.

    A backward formula (errata 1-3) is put through the same section check; the
    training pseudocode (erratum 6) is replaced by the model's BPTT, checked
    against finite differences of the whole loss on a document of the same
    size.  A forward formula or a typo (4, 5, 7) is measured against the
    correct forward itself, so it has no second row.
    """
    if erratum.function.endswith("_backward") and erratum.section in gradcheck.SECTIONS:
        return max(gradcheck.check_section(erratum.section, dtype=np.float64).values())
    if erratum.function == "pseudocode_loss_and_grads":
        import normrnn
        model = normrnn.NormRNN(7, 5, seed=0)
        return max(gradcheck.check_model(model, [1, 4, 4, 0, 6, 2, 5], 2).values())
    return None


# --- .. errata-table:: -------------------------------------------------------------

class ErrataTableDirective(SphinxDirective):
    """All of the notes' errata in one table, each with the error it makes, run now."""

    def run(self):
        from normrnn import gradcheck, notes

        _mark_executed(self.env)
        tolerance = _tolerance(gradcheck)
        rows, verdicts = [], []
        for erratum in notes.ERRATA:
            error = float(gradcheck.check_erratum(erratum.number))
            verdicts.append((f"the notes' formula of erratum {erratum.number} "
                             f"(error {_fmt(error)})", error <= tolerance, False))
            page = ("bptt" if erratum.section not in gradcheck.SECTIONS
                    else f"sections/{erratum.section}")
            ref = _doc_ref(self, page)
            rows.append([_entry_ref(erratum.number), erratum.title, ref,
                         nodes.literal(text=erratum.notes_formula), _fmt(error),
                         _verdict(error <= tolerance)])
        _report_unexpected(self, verdicts)
        return [_table(["#", "erratum", "page", "the notes write", "error", "check"],
                       rows, widths=[1, 6, 3, 8, 2, 2], classes=["errata-table"])]


def _entry_ref(number):
    """A link to the errata page's entry for erratum ``number`` (label ``erratum-N``).

    Every erratum of :data:`normrnn.notes.ERRATA` must have its entry: a
    missing label is a broken reference, which fails the build under ``-W``.
    """
    from sphinx.addnodes import pending_xref

    ref = pending_xref("", refdomain="std", reftype="ref", reftarget=f"erratum-{number}",
                       refexplicit=True, refwarn=True)
    ref += nodes.inline("", str(number))
    return nodes.paragraph("", "", ref)


def _doc_ref(directive, target):
    """A :doc: cross-reference to ``target`` (a docname relative to the root)."""
    from sphinx.addnodes import pending_xref

    ref = pending_xref("", refdomain="std", reftype="doc", reftarget="/" + target,
                       refexplicit=False, refwarn=True)
    ref += nodes.inline("", target.split("/")[-1].replace("_", " "))
    return nodes.paragraph("", "", ref)


# --- .. runblock:: -------------------------------------------------------------------

@contextlib.contextmanager
def _in_directory(path):
    """Run the body with ``path`` as the working directory (contextlib.chdir before 3.11)."""
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


class RunBlockDirective(SphinxDirective):
    """Execute a block of Python at build time; show the code and its output."""

    has_content = True
    option_spec = {"hide-code": directives.flag, "hide-output": directives.flag}

    def run(self):
        _mark_executed(self.env)
        # temp_data lives for one document: a fresh namespace per page
        namespace = self.env.temp_data.setdefault("normrnn_namespace",
                                                  {"__name__": "__runblock__"})
        code = "\n".join(self.content)
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                with _in_directory(ROOT):
                    exec(compile(code, f"<{self.env.docname}>", "exec"), namespace)
        except Exception:
            raise _error(self, f"runblock in {self.env.docname} raised:\n"
                             + traceback.format_exc())
        result = []
        if "hide-code" not in self.options:
            result.append(_literal(code, classes=["runblock-code"]))
        text = out.getvalue().rstrip("\n")
        if text and "hide-output" not in self.options:
            result.append(_literal(text, language="none", classes=["runblock-output"]))
        return result


# --- Cython annotation -------------------------------------------------------------

def _setup_directives():
    """The compiler directives of the release build, from ``normrnn/_kernels/build_config.py``
    as setup.py (read by its path, as setup.py reads it)."""
    spec = importlib.util.spec_from_file_location(
        "build_config", os.path.join(ROOT, "normrnn", "_kernels", "build_config.py"))
    build_config = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_config)
    return build_config.directives(debug=False)


def annotate_kernels(app):
    """Write docs/_static/annotated/NAME.html for every normrnn/_kernels/NAME.pyx.

    Off when the configuration sets ``normrnn_annotate_kernels = False`` (a
    project that embeds no annotation, such as the extension's own tests).
    """
    if not app.config.normrnn_annotate_kernels:
        return
    os.makedirs(ANNOTATED, exist_ok=True)
    options = []
    for name, value in _setup_directives().items():
        options += ["-X", f"{name}={value}"]
    build = os.path.join(app.outdir, "..", "cython-annotate")
    os.makedirs(build, exist_ok=True)
    for filename in sorted(os.listdir(KERNELS)):
        if not filename.endswith(".pyx"):
            continue
        stem = filename[:-4]
        c_file = os.path.join(build, stem + ".c")
        command = [sys.executable, "-m", "cython", "-a", "-I", ROOT, *options,
                   os.path.join(KERNELS, filename), "-o", c_file]
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        if done.returncode != 0:
            raise RuntimeError(f"cython -a {filename} failed:\n{done.stdout}\n{done.stderr}")
        with open(os.path.join(build, stem + ".html"), encoding="utf-8") as fh:
            page = fh.read()
        # the generated C is not shipped with the site: drop the link to it
        page = re.sub(r'<p>Raw output: <a href="[^"]*">[^<]*</a></p>', "", page)
        with open(os.path.join(ANNOTATED, stem + ".html"), "w", encoding="utf-8") as fh:
            fh.write(page)
    LOGGER.info("normrnn: annotated the Cython kernels into %s", ANNOTATED)


_LINE = re.compile(
    r'<pre class="cython line score-(\d+)"[^>]*>.*?<span class="">(\d+)</span>:.*?</pre>'
    r"(?:\s*<pre class='cython code[^']*'>.*?</pre>)?", re.S)


def annotated_lines(stem):
    """{line number: (score, html)} of docs/_static/annotated/STEM.html."""
    path = os.path.join(ANNOTATED, stem + ".html")
    with open(path, encoding="utf-8") as fh:
        page = fh.read()
    return {int(m.group(2)): (int(m.group(1)), m.group(0)) for m in _LINE.finditer(page)}


def _scoped_style(page):
    """The <style> block of an annotation page, scoped to ``.cython-annotated``."""
    css = re.search(r"<style[^>]*>(.*?)</style>", page, re.S).group(1)
    css = re.sub(r"body\.cython\s*\{[^}]*\}", "", css)
    return re.sub(r"(^|\n)\s*\.cython", r"\1.cython-annotated .cython", css)


def annotation_style(stem):
    """The scoped <style> block of docs/_static/annotated/STEM.html."""
    with open(os.path.join(ANNOTATED, stem + ".html"), encoding="utf-8") as fh:
        return _scoped_style(fh.read())


def _pyx_source(stem):
    with open(os.path.join(KERNELS, stem + ".pyx"), encoding="utf-8") as fh:
        return fh.read().splitlines()


_TOPLEVEL = re.compile(r"^(cdef|cpdef|def)\s+(?:[\w\[\]:, ]+?\s+)?(\w+)\s*\(")


def pyx_functions(stem):
    """[(name, kind, first line, last line)] of the top-level functions of STEM.pyx.

    ``kind`` is ``"def"``, ``"cdef nogil"`` or ``"cdef"``.  Line numbers start
    at 1; a function runs from its ``def`` line to its last indented line.
    """
    lines = _pyx_source(stem)
    functions = []
    for number, line in enumerate(lines, start=1):
        m = _TOPLEVEL.match(line)
        if not m:
            continue
        end = number
        for k in range(number, len(lines)):          # lines[k] is line k + 1
            text = lines[k]
            if text and not text[0].isspace():
                if text.startswith("#"):
                    continue
                break
            if text.strip():
                end = k + 1
        kind = m.group(1)
        header = []
        for text in lines[number - 1:end]:
            header.append(text)
            if text.rstrip().endswith(":"):
                break
        signature = " ".join(header)
        if kind != "def" and re.search(r"\)\s*(noexcept\s+)?nogil", signature):
            kind += " nogil"
        functions.append((m.group(2), kind, number, end))
    return functions


class CythonAnnotatedDirective(SphinxDirective):
    """Embed annotated lines of a kernel file, as ``cython -a`` colours them."""

    required_arguments = 1
    option_spec = {"start-after": directives.unchanged_required,
                   "end-before": directives.unchanged_required,
                   "pyobject": directives.unchanged_required}

    def run(self):
        _mark_executed(self.env)
        stem = self.arguments[0].removesuffix(".pyx")
        source = _pyx_source(stem)
        if "pyobject" in self.options:
            found = [f for f in pyx_functions(stem) if f[0] == self.options["pyobject"]]
            if not found:
                raise _error(self, f"{stem}.pyx has no top-level function "
                                 f"{self.options['pyobject']!r}")
            first, last = found[0][2], found[0][3]
        else:
            first, last = 1, len(source)
            if "start-after" in self.options:
                marker = self.options["start-after"]
                hits = [i for i, line in enumerate(source, 1) if marker in line]
                if not hits:
                    raise _error(self, f"{stem}.pyx has no line with {marker!r}")
                first = hits[0] + 1
            if "end-before" in self.options:
                marker = self.options["end-before"]
                hits = [i for i, line in enumerate(source, 1) if marker in line and i >= first]
                if not hits:
                    raise _error(self, f"{stem}.pyx has no line with {marker!r}")
                last = hits[0] - 1
        lines = annotated_lines(stem)
        chunks = [lines[n][1] for n in range(first, last + 1) if n in lines]
        if not chunks:
            raise _error(self, f"no annotated lines {first}-{last} in {stem}.pyx")
        body = (f'<div class="cython-annotated"><style>{annotation_style(stem)}</style>'
                + "\n".join(chunks) + "</div>")
        return [nodes.raw("", body, format="html")]


class CythonScoresDirective(SphinxDirective):
    """Tabulate how yellow each top-level function of a kernel file is."""

    required_arguments = 1

    def run(self):
        _mark_executed(self.env)
        stem = self.arguments[0].removesuffix(".pyx")
        lines = annotated_lines(stem)
        source = _pyx_source(stem)
        rows = []
        for name, kind, first, last in pyx_functions(stem):
            what = kind
            scores = [lines[n][0] for n in range(first, last + 1) if n in lines]
            yellow = [n for n in range(first, last + 1) if n in lines and lines[n][0] > 0]
            which = nodes.paragraph()
            for k, n in enumerate(yellow):
                text = source[n - 1].strip()
                text = text if len(text) <= 34 else text[:31] + "..."
                if k:
                    which += nodes.Text(" ")
                which += nodes.literal(text=f"{n}: {text}")
            rows.append([nodes.literal(text=name), what, str(last - first + 1),
                         str(len(yellow)), which if yellow else "none",
                         str(max(scores, default=0))])
        return [_table(["function", "kind", "lines", "yellow lines", "which",
                        "highest score"], rows, widths=[4, 3, 1, 1, 6, 1],
                       classes=["cython-scores"])]


class CythonSnippetDirective(SphinxDirective):
    """Annotate a few lines of Cython written in the page, and embed the result."""

    has_content = True
    option_spec = {"directives": directives.unchanged}

    def run(self):
        import hashlib
        import tempfile

        _mark_executed(self.env)
        code = "\n".join(self.content) + "\n"
        options = []
        for item in (self.options.get("directives") or "").split(","):
            if item.strip():
                options += ["-X", item.strip()]
        stem = "snippet_" + hashlib.sha1((code + repr(options)).encode()).hexdigest()[:10]
        with tempfile.TemporaryDirectory() as tmp:
            pyx = os.path.join(tmp, stem + ".pyx")
            with open(pyx, "w", encoding="utf-8") as fh:
                fh.write(code)
            done = subprocess.run([sys.executable, "-m", "cython", "-3", "-a", *options, pyx],
                                  capture_output=True, text=True, cwd=tmp)
            if done.returncode != 0:
                raise _error(self, f"cython -a failed:\n{done.stdout}\n{done.stderr}")
            with open(os.path.join(tmp, stem + ".html"), encoding="utf-8") as fh:
                page = fh.read()
        chunks = [m.group(0) for m in _LINE.finditer(page)]
        body = (f'<div class="cython-annotated"><style>{_scoped_style(page)}</style>'
                + "\n".join(chunks) + "</div>")
        return [nodes.raw("", body, format="html")]


# --- docstrings: |x| is an absolute value, not a substitution -------------------

_QUOTED = re.compile(r"(``.*?``|`[^`]*`)")


def escape_bars(app, what, name, obj, options, lines):
    """Let docstrings write ``max |got - want|`` as they would on paper.

    In reStructuredText ``|word|`` is a substitution reference, so a docstring
    that writes an absolute value the plain way (readable in ``help()``)
    breaks the build.  Bars outside literal blocks, math blocks, doctests and
    backquoted text are escaped here instead.
    """
    literal_indent = None
    for k, line in enumerate(lines):
        indent = len(line) - len(line.lstrip())
        if literal_indent is not None:
            if not line.strip() or indent > literal_indent:
                continue
            literal_indent = None
        stripped = line.strip()
        if stripped.startswith((">>>", "...")) or "|" not in line:
            if stripped.endswith("::"):
                literal_indent = indent
            continue
        parts = _QUOTED.split(line)
        lines[k] = "".join(part if i % 2 else part.replace("|", r"\|")
                           for i, part in enumerate(parts))
        if stripped.endswith("::"):
            literal_indent = indent


# --- a toctree of the pages that exist ------------------------------------------

def _optional_toctree():
    from docutils.statemachine import StringList
    from sphinx.directives.other import TocTree

    class OptionalTocTree(TocTree):
        """A toctree listing only those of its entries that are documents."""

        def run(self):
            found = self.env.found_docs
            kept = [entry for entry in self.content if entry.strip() in found]
            if not kept:
                return []
            self.content = StringList(kept)
            return super().run()

    return OptionalTocTree


# --- readable signatures of fused Cython functions ---------------------------------

_DEF = re.compile(r"^def\s+(\w+)\s*\((.*?)\)\s*:", re.S | re.M)
_ARG = re.compile(r"^(?:const\s+)?(?P<type>[\w]+(?:\s*\[[^\]]*\])?)\s+(?P<name>\w+)"
                  r"(?P<default>\s*=\s*.+)?$")


def _pyx_text(obj):
    """The source of the ``.pyx`` file that defines ``obj``, or None."""
    module = sys.modules.get(getattr(obj, "__module__", "") or "")
    path = getattr(module, "__file__", None)
    if not path:
        return None
    pyx = os.path.join(os.path.dirname(path), os.path.basename(path).split(".")[0] + ".pyx")
    if not os.path.exists(pyx):
        return None
    with open(pyx, encoding="utf-8") as fh:
        return fh.read()


def _pyx_signature(obj):
    source = _pyx_text(obj)
    if source is None:
        return None
    # without the comments: the kernels mark each argument "# IN  (V, H)" and
    # the like, which argument_table() shows beside the docstring instead
    source = re.sub(r"#[^\n]*", "", source)
    for m in _DEF.finditer(source):
        if m.group(1) != obj.__name__:
            continue
        args = []
        depth, current = 0, ""
        for ch in m.group(2):
            depth += ch == "["
            depth -= ch == "]"
            if ch == "," and depth == 0:
                args.append(current)
                current = ""
            else:
                current += ch
        args.append(current)
        parts = []
        for arg in (" ".join(a.split()) for a in args):
            if not arg:
                continue
            a = _ARG.match(arg)
            if a is None:
                parts.append(arg)
                continue
            annotation = a.group("type").replace(" [", "[")
            default = (a.group("default") or "").strip()
            parts.append(f"{a.group('name')}: {annotation}"
                         + (f" {default[0]} {default[1:].strip()}" if default else ""))
        return "(" + ", ".join(parts) + ")"
    return None


_MARK = re.compile(r"#\s*(?P<role>INOUT|IN|OUT)\b\s*(?P<text>.*)$")
_MARKED_NAME = re.compile(r"(\w+)\s*(?:=\s*[\w.]+)?\s*\)?\s*[,:]?\s*$")


def kernel_arguments(source, name):
    """[(argument, role, shape and meaning)] of ``def name`` as its comments mark them.

    The kernels mark each argument of a ``def`` with a comment, ``# IN  (V, H)``,
    ``# OUT (T, H)``, ``# INOUT (H,)``; a comment line without a mark goes on
    the argument before it.  Empty when the function marks none.
    """
    start = re.search(rf"^def\s+{name}\s*\(", source, re.M)
    if start is None:
        return []
    end = re.compile(r"\)\s*:\s*(?:#.*)?$")
    rows = []
    for line in source[start.start():].splitlines():
        code, _, comment = line.partition("#")
        mark = _MARK.match("#" + comment) if comment else None
        named = _MARKED_NAME.search(code)
        if mark and named:
            rows.append((named.group(1), mark.group("role"), mark.group("text").strip()))
        elif comment and not code.strip() and rows:
            argument, role, text = rows[-1]
            rows[-1] = (argument, role, f"{text} {comment.strip()}")
        if end.search(line):
            break
    return rows


def argument_table(app, what, name, obj, options, lines):
    """Below a kernel's docstring, its arguments as the source marks them.

    The kernels' signatures carry, argument by argument, whether it is read
    (IN), written (OUT) or added into (INOUT), and its shape; the rendered
    signature cannot hold comments, so they become a table.
    """
    if what != "function" or not name.startswith("normrnn._kernels."):
        return
    source = _pyx_text(obj)
    rows = kernel_arguments(source, obj.__name__) if source else []
    if not rows:
        return
    lines += ["", ".. list-table:: The arguments, as the source marks them",
              "   :header-rows: 1", "", "   * - argument", "     - role",
              "     - shape and meaning"]
    for argument, role, text in rows:
        lines += [f"   * - ``{argument}``", f"     - {role}",
                  f"     - ``{text}``" if text else "     -"]
    lines.append("")


def fused_signature(app, what, name, obj, options, signature, return_annotation):
    if type(obj).__name__ not in ("fused_cython_function", "cython_function_or_method"):
        return None
    if signature and "_fused_sigindex" not in signature:
        return None
    readable = _pyx_signature(obj)
    if readable is None:
        return None
    return readable, return_annotation


def drop_sourceless_modules(app):
    """Keep ``sphinx.ext.viewcode`` from listing modules it has no source page for.

    viewcode finds no Python source for the compiled kernels
    (``normrnn._kernels.*``), so it writes no page for them, but its index of
    module code still links to one: a broken link.  Before it collects its
    pages, forget the modules whose source it could not read.

    Returns
    -------
    list
        No pages of its own (``html-collect-pages`` expects an iterable).
    """
    modules = getattr(app.env, "_viewcode_modules", None)
    if modules:
        for name in [name for name, entry in modules.items() if entry is False]:
            del modules[name]
    return []


#: Inline on every page: a collapsed block is printed open (and closed again after).
OPEN_TO_PRINT = """
(() => {
  let opened = [];
  window.addEventListener("beforeprint", () => {
    opened = Array.from(document.querySelectorAll("details:not([open])"));
    opened.forEach(d => { d.open = true; });
  });
  window.addEventListener("afterprint", () => {
    opened.forEach(d => { d.open = false; });
    opened = [];
  });
})();
"""


class details(nodes.General, nodes.Element):
    """A block the reader opens on request: HTML ``<details>`` with a ``<summary>``."""


def _visit_details_html(self, node):
    self.body.append(self.starttag(node, "details"))
    self.body.append(f"<summary>{self.encode(node['summary'])}</summary>\n")


def _depart_details_html(self, node):
    self.body.append("</details>\n")


def _visit_details_plain(self, node):
    """Other builders (LaTeX, text, ...) print the block as it is, open."""


def _depart_details_plain(self, node):
    pass


class ShowCodeDirective(SphinxDirective):
    """``.. show-code:: [summary]``: its body collapsed below the derivation, open on request.

    The body is parsed as usual and written into the page (an HTML
    ``<details>`` element, closed; summary "Show the code" by default), so it
    is printed in the HTML, indexed by the search, and opened by a click.  A
    learner can read the derivation first without seeing the answer.
    """

    has_content = True
    optional_arguments = 1
    final_argument_whitespace = True

    def run(self):
        node = details(summary=self.arguments[0] if self.arguments else "Show the code")
        node["classes"].append("show-code")
        self.set_source_info(node)
        self.state.nested_parse(self.content, self.content_offset, node)
        return [node]


# --- the exercise notebooks, made from the skeletons ----------------------------

def write_exercise_notebooks(app):
    """Write ``plot_<n>_<name>.py`` for every exercise into ``normrnn_exercise_notebooks``.

    A file is rewritten only when its text changed (sphinx-gallery then runs
    it again), and a ``plot_*.py`` no exercise makes is removed.  Off when the
    configuration leaves ``normrnn_exercise_notebooks`` unset.
    """
    folder = app.config.normrnn_exercise_notebooks
    if not folder:
        return
    from normrnn.exercises import EXERCISES, skeletons

    wanted = {skeletons.notebook_name(name): skeletons.notebook(name) for name in EXERCISES}
    for filename in os.listdir(folder):
        if filename.startswith("plot_") and filename.endswith(".py") and filename not in wanted:
            os.remove(os.path.join(folder, filename))
    for filename, text in wanted.items():
        path = os.path.join(folder, filename)
        if not os.path.isfile(path) or open(path, encoding="utf-8").read() != text:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)


def setup(app):
    app.add_directive("gradcheck", GradcheckDirective)
    app.add_directive("erratum-check", ErratumCheckDirective)
    app.add_directive("errata-table", ErrataTableDirective)
    app.add_directive("runblock", RunBlockDirective)
    app.add_directive("cython-annotated", CythonAnnotatedDirective)
    app.add_directive("cython-scores", CythonScoresDirective)
    app.add_directive("cython-snippet", CythonSnippetDirective)
    app.add_directive("show-code", ShowCodeDirective)
    plain = (_visit_details_plain, _depart_details_plain)
    app.add_node(details, html=(_visit_details_html, _depart_details_html), latex=plain,
                 text=plain, man=plain, texinfo=plain)
    app.add_js_file(None, body=OPEN_TO_PRINT)
    app.add_config_value("normrnn_annotate_kernels", True, "env")
    app.connect("builder-inited", annotate_kernels)
    app.add_config_value("normrnn_exercise_notebooks", None, "env")
    # before sphinx-gallery (priority 500) collects the notebooks
    app.connect("builder-inited", write_exercise_notebooks, priority=400)
    app.connect("build-finished", _fail_on_unexpected)
    app.connect("html-collect-pages", drop_sourceless_modules, priority=400)   # viewcode: 500
    app.connect("env-get-outdated", _outdated)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    # before numpydoc (priority 500), which would keep the dispatcher's signature
    app.connect("autodoc-process-signature", fused_signature, priority=400)
    app.connect("autodoc-process-docstring", escape_bars)
    app.connect("autodoc-process-docstring", argument_table, priority=600)   # after numpydoc
    app.add_directive("optional-toctree", _optional_toctree())
    return {"version": "1", "parallel_read_safe": False, "parallel_write_safe": True}
