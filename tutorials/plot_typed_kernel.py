"""
From NumPy to a typed kernel
============================

The hh section's backward, :math:`\\partial S \\mathrel{+}= \\delta \\otimes s_t`
and :math:`g_t \\mathrel{+}= S^\\top \\delta`, written six times: first as the
loops of the notes in plain Python, then compiled by Cython and made faster
one change at a time, until it is the kernel ``normrnn exercise start
--cython`` asks for:

1. the Python loops, compiled as they are;
2. typed locals;
3. typed memoryviews;
4. ``const`` and contiguity (``[::1]``);
5. the package's directives (no bounds checks, no negative indices);
6. a ``cdef ... noexcept nogil`` kernel, called with the GIL released.

Each step is compiled here, while this page is built, by the Cython track's
own builder (:mod:`normrnn.exercises.cython.build`: the package's compiler
directives and flags, cached by content, so an unchanged step is not
rebuilt), timed against the NumPy twin at H = 128, and read for the lines
that still call into Python (:mod:`normrnn.exercises.cython.purity`), as
``cython -a`` colours them.
"""

import importlib.machinery
import importlib.util
import tempfile
import timeit
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from normrnn import reference
from normrnn.exercises.cython.build import build
from normrnn.exercises.cython.purity import annotated_lines, python_lines
from normrnn.exercises.cython.source import kernel_lines

# %%
# The inputs, and the NumPy twin
# ------------------------------
# One step of the hh section at H = 128, in float64.  The twin allocates its
# answers; every kernel below adds into arrays it is given, as the package's
# kernels do.

H = 128
rng = np.random.default_rng(0)
scaled_hh = rng.normal(size=(H, H)) / H
state, delta = rng.uniform(-1 / 3, 1, size=H), rng.normal(size=H)
want = reference.hh_backward(scaled_hh, state, delta)


def seconds(fn, *args):
    """Seconds per call: the best of five, each long enough to measure."""
    timer = timeit.Timer(lambda: fn(*args))
    number, _ = timer.autorange()
    return min(timer.repeat(5, number)) / number


numpy_seconds = seconds(reference.hh_backward, scaled_hh, state, delta)

# %%
# Step 0: the loops of the notes, in Python
# -----------------------------------------
# Two nested loops, one multiply-add per entry of each output.  Right, and
# slow: every ``x[i]`` makes a Python float.


def hh_backward_python(scaled_hh, state, delta, d_scaled_hh, d_state):
    for i in range(len(delta)):
        for j in range(len(state)):
            d_scaled_hh[i, j] += delta[i] * state[j]
            d_state[j] += delta[i] * scaled_hh[i, j]


def outputs():
    return np.zeros((H, H)), np.zeros(H)


got = outputs()
hh_backward_python(scaled_hh, state, delta, *got)
assert all(np.allclose(g, w) for g, w in zip(got, want))
python_seconds = seconds(hh_backward_python, scaled_hh, state, delta, *outputs())
print(f"Python loops: {numpy_seconds / python_seconds:.3g}x the speed of NumPy")

# %%
# The six Cython steps
# --------------------
# Each is a whole ``.pyx`` file.  Steps 1 to 4 turn bounds checking and
# negative indices back on with a ``# cython:`` header (the package's own
# directives turn them off, and that is step 5).

CHECKED = "# cython: boundscheck=True, wraparound=True\n"
LOOPS = """
    for i in range(n):
        d = delta[i]
        for j in range(m):
            d_scaled_hh[i, j] += d * state[j]
            d_state[j] += d * scaled_hh[i, j]
"""
TYPED = "    cdef Py_ssize_t i, j, n = delta.shape[0], m = state.shape[0]\n    cdef double d"
MEMORYVIEWS = ("double[:, :] scaled_hh, double[:] state, double[:] delta, "
               "double[:, :] d_scaled_hh, double[:] d_state")
CONTIGUOUS = ("const double[:, ::1] scaled_hh, const double[::1] state, const double[::1] delta,\n"
              "                double[:, ::1] d_scaled_hh, double[::1] d_state")

STEPS = {
    "compiled": CHECKED + """
def hh_backward(scaled_hh, state, delta, d_scaled_hh, d_state):
    for i in range(len(delta)):
        for j in range(len(state)):
            d_scaled_hh[i, j] += delta[i] * state[j]
            d_state[j] += delta[i] * scaled_hh[i, j]
""",
    "typed locals": CHECKED + f"""
def hh_backward(scaled_hh, state, delta, d_scaled_hh, d_state):
{TYPED}{LOOPS}""",
    "memoryviews": CHECKED + f"""
def hh_backward({MEMORYVIEWS}):
{TYPED}{LOOPS}""",
    "const, [::1]": CHECKED + f"""
def hh_backward({CONTIGUOUS}):
{TYPED}{LOOPS}""",
    "directives": f"""
def hh_backward({CONTIGUOUS}):
{TYPED}{LOOPS}""",
    "nogil": f"""
cdef void _hh_backward({CONTIGUOUS}) noexcept nogil:
{TYPED}{LOOPS}

def hh_backward({CONTIGUOUS}):
    with nogil:
        _hh_backward(scaled_hh, state, delta, d_scaled_hh, d_state)
""",
}


def load(built):
    loader = importlib.machinery.ExtensionFileLoader(built.name, str(built.module))
    spec = importlib.util.spec_from_file_location(built.name, built.module, loader=loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


folder = Path(tempfile.mkdtemp())
results = {}
for number, (step, source) in enumerate(STEPS.items(), 1):
    path = folder / f"hh_step{number}.pyx"
    path.write_text(source.lstrip("\n"))
    built = build(path)                          # cached: an unchanged step is not rebuilt
    fn = load(built).hh_backward
    got = outputs()
    fn(scaled_hh, state, delta, *got)
    assert all(np.allclose(g, w) for g, w in zip(got, want)), step
    kernel = "_hh_backward" if step == "nogil" else "hh_backward"
    annotation = built.annotation.read_text()
    text = path.read_text()
    results[step] = dict(speed=numpy_seconds / seconds(fn, scaled_hh, state, delta, *outputs()),
                         python=python_lines(annotation, text, kernel),
                         scores=annotated_lines(annotation), source=text,
                         body=list(kernel_lines(text, kernel)))
    shown = ", ".join(str(p.line) for p in results[step]["python"]) or "none"
    print(f"step {number} ({step}): {results[step]['speed']:.3g}x NumPy; "
          f"lines calling Python in the loop: {shown}")

# %%
# What each step changed
# ----------------------
# *Compiled* as they are, the loops still handle Python objects on every
# line: Cython only removed the interpreter's dispatch.  *Typed locals*
# make ``i``, ``j`` and ``d`` C numbers, but ``delta[i]`` is still an item
# of a Python object.  *Memoryviews* turn each ``x[i]`` into a load from
# memory (plus a bounds check).  ``const`` accepts read-only arrays, and
# ``[::1]`` promises a contiguous last axis, so the inner loop steps by one
# element and the C compiler can vectorise it.  The *directives* drop the
# bounds checks and the negative-index tests: the loop lines turn white.
# *nogil* declares the kernel free of Python: Cython would refuse to compile
# it otherwise, and the caller can release the GIL around it.  Here is the
# last annotation line by line (``+`` marks a line with C code, the number is
# Cython's count of calls into Python):

for line, (score, source, _) in sorted(results["nogil"]["scores"].items()):
    print(f"{score:>4} {line:>3}  {source.rstrip()}")

# %%
# Speed and colour, step by step
# ------------------------------
# Left: the speed of each step, as a multiple of the NumPy twin's (log
# scale).  Right: the lines of each step's loop, coloured as ``cython -a``
# colours them, from yellow (many calls into Python) to white (none); the
# lines outside the loop (the signature, the ``def`` wrapper) are grey.

names = ["Python"] + list(results)
speeds = [numpy_seconds / python_seconds] + [r["speed"] for r in results.values()]
figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2),
                                     gridspec_kw={"width_ratios": [1, 1.3]})
left.bar(range(len(names)), speeds, color=["#999999"] + ["#3b75af"] * len(results))
left.axhline(1.0, color="black", linewidth=0.8, linestyle="--")
left.text(len(names) - 0.5, 1.0, " NumPy", va="bottom", ha="right")
left.set_yscale("log")
left.set_xticks(range(len(names)), names, rotation=35, ha="right")
left.set_ylabel("speed / NumPy twin's (H = 128)")
left.set_title("speed at each step")

rows = max(len(r["source"].splitlines()) for r in results.values())
colours = np.full((rows, len(results), 3), 0.85)
for column, r in enumerate(results.values()):
    calls_python = {p.line: p.score for p in r["python"]}
    for line in r["body"]:
        strength = min(1.0, 0.3 + calls_python.get(line, 0) / 30) if line in calls_python else 0
        colours[line - 1, column] = (1.0, 1.0, 1.0 - strength)     # white to yellow
right.imshow(colours, aspect="auto", interpolation="nearest", extent=(-0.5, len(results) - 0.5,
                                                                      rows + 0.5, 0.5))
right.set_xticks(range(len(results)), list(results), rotation=35, ha="right")
right.set_ylabel("line of the .pyx")
right.set_title("annotation: yellow lines call Python")
for column in range(len(results) - 1):
    right.axvline(column + 0.5, color="#cccccc", linewidth=0.8)
figure.tight_layout()
plt.show()
