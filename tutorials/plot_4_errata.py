"""
The notes' errata, caught one by one
====================================

The author's notes get seven things wrong (``MATH.md`` lists them).
:mod:`normrnn.notes` reproduces each one exactly as written, and
:func:`normrnn.gradcheck.check_erratum` measures the error it makes.  Here
they are, one after another, beside the package's correct version of the same
thing, put through the same test.
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
# Errata 4 and 5: forward formulas
# --------------------------------
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
for number in (4, 5):
    print(f"erratum {number}: notes {results[number][0]:.2e}   normrnn {results[number][1]:.2e}")

# %%
# Erratum 6: the training pseudocode
# ----------------------------------
# The notes' whole training loop, transcribed
# (:func:`normrnn.notes.pseudocode_loss_and_grads`), against finite
# differences of the true loss; beside it, the model's own BPTT through
# :func:`normrnn.gradcheck.check_model` on a document of the same size.

model = normrnn.NormRNN(7, 5, seed=0)
results[6] = (gradcheck.check_erratum(6),
              max(gradcheck.check_model(model, [1, 4, 4, 0, 6, 2, 5], 2).values()))
print(f"erratum 6: notes {results[6][0]:.2e}   normrnn {results[6][1]:.2e}")

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
fig, ax = plt.subplots(figsize=(10, 5.5), layout="constrained")
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
