"""
The notes' errata, caught one by one
====================================

The author's notes get twelve things wrong (:data:`normrnn.notes.ERRATA`
lists them).  :mod:`normrnn.notes` reproduces each one exactly as written, and
:func:`normrnn.gradcheck.check_erratum` measures the error it makes, alone:
every other erratum fixed.  Here they are, one after another, beside the
package's correct version of the same thing, put through the same test.
"""

import textwrap

import matplotlib.pyplot as plt
import numpy as np

import normrnn
from normrnn import gradcheck, notes

TOLERANCE = gradcheck.TOLERANCES[np.dtype(np.float64)]

# %%
# What the notes write, and what is right
# ---------------------------------------

for erratum in notes.ERRATA:
    print(f"{erratum.number}. {erratum.title}  [{erratum.section}]")
    print(textwrap.indent(textwrap.fill("notes:   " + erratum.notes_formula, 88), "   "))
    print(textwrap.indent(textwrap.fill("correct: " + erratum.correct_formula, 88), "   "))
    print()

# %%
# Errata 1 to 3: backward formulas
# --------------------------------
# A backward formula is checked like any kernel: against central finite
# differences of the forward pass.  ``check_section`` takes the function to
# test as ``backward``; the notes' version goes through the same check as the
# package's.

results = {}
for number, section in ((1, "ih"), (2, "hh"), (3, "row_normalise")):
    wrong = gradcheck.check_erratum(number)
    right = max(gradcheck.check_section(section).values())
    results[number] = (wrong, right)
    print(f"erratum {number} ({section}): notes {wrong:.2e}   normrnn {right:.2e}")

# %%
# Errata 4, 5 and 8: forward formulas
# ------------------------------------
# A forward formula is compared with the right forward.  The package's own
# forward is that right forward, so its "error" is measured the only honest
# way: the Cython kernel against the NumPy formula it should equal.

from normrnn import reference, sections  # noqa: E402

rng = np.random.default_rng(0)
hh, state = rng.normal(size=(5, 5)), rng.normal(size=5)
results[4] = (gradcheck.check_erratum(4), gradcheck.relative_error(
    sections.row_normalise(hh), reference.row_normalise(hh)))
results[5] = (gradcheck.check_erratum(5), gradcheck.relative_error(
    sections.hh_forward(hh, state), reference.hh_forward(hh, state)))
results[8] = (gradcheck.check_erratum(8), gradcheck.relative_error(
    sections.ih_forward(hh, state), reference.ih_forward(hh, state)))
for number in (4, 5, 8):
    print(f"erratum {number}: notes {results[number][0]:.2e}   normrnn {results[number][1]:.2e}")

# %%
# Errata 6 and 9 to 12: the training pseudocode
# ---------------------------------------------
# The notes' whole training loop is transcribed in
# :func:`normrnn.notes.pseudocode_loss_and_grads`, with one switch per
# erratum.  Each is switched on alone (every other one fixed) and the
# gradients compared with finite differences of the true loss; beside them,
# the model's own BPTT through :func:`normrnn.gradcheck.check_model` on a
# document of the same size.  With no erratum switched on, the transcription
# is exactly the reference:

params = gradcheck._pseudocode_parameters(np.random.default_rng(0))
tokens, title_length = gradcheck.ERRATUM_DOCUMENT
_, fixed = notes.pseudocode_loss_and_grads(*params, tokens, title_length, errata=())
_, want = reference.loss_and_grads(*params, tokens, title_length)
print("all errata fixed, against the reference:",
      max(gradcheck.relative_error(fixed[k], want[k]) for k in want))

model = normrnn.NormRNN(7, 5, seed=0)
model_error = max(gradcheck.check_model(model, tokens, title_length).values())
for number in (6, 9, 10, 11, 12):
    results[number] = (gradcheck.check_erratum(number), model_error)
    print(f"erratum {number:2d} alone: notes {results[number][0]:.2e}   "
          f"normrnn {model_error:.2e}")

# %%
# All six together, as the notes write them, are wrong by far more than any
# one alone:

_, as_written = notes.pseudocode_loss_and_grads(*params, tokens, title_length)
print("as written:", max(gradcheck.relative_error(as_written[k], want[k]) for k in want))

# %%
# Erratum 7: ``^`` is XOR
# -----------------------
# Typed into Python, the notes' :math:`f'` runs on integers and returns
# nonsense; on floats it does not even run.

x = np.arange(5)
print("notes' f'(0..4):  ", notes.activation_grad_as_python(x))
print("correct f'(0..4): ", reference.activation_grad(x.astype(float)))
try:
    notes.activation_grad_as_python(np.array([0.5]))
except TypeError as error:
    print("on a float:       TypeError:", error)
results[7] = (gradcheck.check_erratum(7), gradcheck.relative_error(
    sections.activation_grad(x.astype(float)), reference.activation_grad(x.astype(float))))

# %%
# The picture
# -----------
# Every erratum fails by orders of magnitude more than the tolerance; every
# correct version passes by orders of magnitude.  No threshold tuning is
# needed to tell them apart.

floor = 1e-17                      # exact agreement would have no logarithm
numbers = sorted(results)
wrong = np.array([results[n][0] for n in numbers])
exact = np.array([results[n][1] for n in numbers])
right = np.maximum(exact, floor)
titles = {e.number: e.title for e in notes.ERRATA}
labels = [f"{n}. " + textwrap.shorten(titles[n], 46, placeholder="...") for n in numbers]

y = np.arange(len(numbers))[::-1]
fig, ax = plt.subplots(figsize=(10, 8), layout="constrained")
ax.barh(y + 0.2, wrong, height=0.38, color="C3", label="the notes")
ax.barh(y - 0.2, right, height=0.38, color="C0", label="normrnn")
ax.axvline(TOLERANCE, color="k", ls="--", lw=1.2)
ax.text(TOLERANCE * 1.5, y[0] + 0.55, "tolerance", fontsize=9)
for yi, w, r in zip(y, wrong, exact):
    ax.text(w * 1.5, yi + 0.2, f"{w:.0e}", va="center", fontsize=8, color="C3")
    if r == 0:
        ax.text(floor * 3, yi - 0.2, "0: exactly equal", va="center", fontsize=8, color="C0")
ax.set_yticks(y, labels, fontsize=9)
ax.set_xscale("log")
ax.set_xlim(floor, 1e6)
ax.set_xlabel("relative error")
ax.set_title("each erratum of the notes against the package's version")
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, fontsize=9)
plt.show()
