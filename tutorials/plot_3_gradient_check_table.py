"""
A gradient check of every section
=================================

Each section page checks its own kernel.  Here is the whole picture at once:
every section, every input it returns a gradient for, the Cython kernels in
float64 and float32 and their NumPy twins, and finally the whole model.
"""

import matplotlib.pyplot as plt
import numpy as np

import normrnn
from normrnn import gradcheck, reference

# %%
# The table
# ---------
# :func:`normrnn.gradcheck.check_all` runs every section's check, comparing
# the kernel's gradient with central finite differences of the forward pass;
# :func:`normrnn.gradcheck.format_table` prints the result.

rows64 = gradcheck.check_all(dtype=np.float64)
rows32 = gradcheck.check_all(dtype=np.float32)
print(gradcheck.format_table(rows64))
print()
print(gradcheck.format_table(rows32))

# %%
# The NumPy twins go through the same checks, by passing them as the
# ``backward`` to test:

numpy_errors = {}
for name in gradcheck.SECTIONS:
    backward = getattr(reference, f"{name}_backward")
    for wrt, error in gradcheck.check_section(name, backward=backward).items():
        numpy_errors[name, wrt] = error
print(f"NumPy twins: largest error {max(numpy_errors.values()):.1e}")

# %%
# And the whole model: BPTT over a document, every parameter, against finite
# differences of the total loss.  This is the check that catches a section
# that is right on its own but wired into the loop wrongly.

model = normrnn.NormRNN(vocab_size=12, hidden_size=6, seed=0)
tokens = np.random.default_rng(1).integers(0, 12, size=15)
model_errors = gradcheck.check_model(model, tokens, title_length=3)
for name, error in model_errors.items():
    print(f"whole model, d loss / d {name:<9}: {error:.1e}")

model32 = normrnn.NormRNN(vocab_size=12, hidden_size=6, seed=0, dtype=np.float32)
model32_errors = gradcheck.check_model(model32, tokens, title_length=3)

# %%
# The picture
# -----------
# One row per gradient; the bars are the relative errors on a log scale, the
# vertical lines the tolerances of :data:`normrnn.gradcheck.TOLERANCES`.  A
# wrong formula is off by order one (see :doc:`plot_4_errata`): it would
# reach the right edge.

labels = [f"{r.section}: d/d {r.wrt}" for r in rows64] + \
         [f"whole model: d/d {name}" for name in model_errors]
e64 = [r.error for r in rows64] + list(model_errors.values())
e32 = [r.error for r in rows32] + list(model32_errors.values())
enp = [numpy_errors[r.section, r.wrt] for r in rows64] + [np.nan] * len(model_errors)

floor = 1e-13                      # an exact zero would have no logarithm
y = np.arange(len(labels))[::-1]
fig, ax = plt.subplots(figsize=(10, 7), layout="constrained")
ax.barh(y + 0.27, np.maximum(e64, floor), height=0.26, color="C0", label="Cython, float64")
ax.barh(y, np.maximum(enp, floor), height=0.26, color="C2", label="NumPy, float64")
ax.barh(y - 0.27, np.maximum(e32, floor), height=0.26, color="C3", label="Cython, float32")
for dtype, colour in ((np.float64, "C0"), (np.float32, "C3")):
    tol = gradcheck.TOLERANCES[np.dtype(dtype)]
    ax.axvline(tol, color=colour, ls="--", lw=1.2)
    ax.text(tol * 1.3, y[0] + 0.9, f"{np.dtype(dtype).name}\ntolerance", color=colour,
            fontsize=8, va="bottom")
ax.set_yticks(y, labels, fontsize=8)
ax.set_xscale("log")
ax.set_xlim(floor, 1)
ax.set_ylim(-1, len(labels) + 0.6)
ax.set_xlabel("relative error against central finite differences")
ax.set_title("every gradient of normrnn, checked")
ax.legend(loc="lower right", fontsize=8)
plt.show()

# %%
# How much room is left?  The margin of each check is its tolerance divided
# by its error:

for label, errors, dtype in (("Cython float64", e64, np.float64),
                             ("Cython float32", e32, np.float32)):
    tol = gradcheck.TOLERANCES[np.dtype(dtype)]
    worst = int(np.argmax(errors))
    print(f"{label}: smallest margin {tol / errors[worst]:.1f}x, at {labels[worst]}")

# %%
# The sections pass with two to three orders of magnitude to spare in
# float64.  The whole-model check of ``hh`` has the least room, for a
# reason worth understanding: the gradient with respect to ``hh`` is scaled
# by :math:`1/(H n_i)` (see :doc:`/sections/row_normalise`), so it is small,
# while the rounding error of a finite difference of the whole loss,
# about :math:`\varepsilon |L| / h`, is not.  The relative error is their
# ratio.  In float32 the analytic gradient itself carries float32 rounding,
# summed over every position of the document.
#
# If the ``hh`` error were a mistake, it would not care about :math:`h`;
# rounding does.  Walk along the V of :doc:`plot_2_finite_differences`,
# for ``hh`` and, for comparison, ``bias``:

_, grads = model.loss_and_grads(tokens, title_length=3)
walk = np.logspace(-8, -2, 13)
walk_errors = {}
for name in ("hh", "bias"):
    errors = []
    for h in walk:
        probe = model.copy()
        numerical = gradcheck.numerical_gradient(lambda: probe.loss(tokens, 3),
                                                 getattr(probe, name), h)
        errors.append(gradcheck.relative_error(getattr(grads, name), numerical))
    walk_errors[name] = np.array(errors)
for h, e_hh, e_bias in zip(walk, walk_errors["hh"], walk_errors["bias"]):
    print(f"h = {h:.0e}: relative error of d loss / d hh {e_hh:.1e}, / d bias {e_bias:.1e}")

# %%
# Both errors trace a V: rounding on the left (growing like :math:`1/h`),
# truncation on the right (like :math:`h^2`), and a bottom between
# :math:`h = 10^{-6}` and :math:`10^{-4}`, around the checks'
# :math:`h = 10^{-5}`.  A wrong formula would give a flat line at order one
# instead.  The ``hh`` curve sits higher because its
# gradient is small (the :math:`1/(H n_i)` of the row normalisation) while
# the rounding of the whole loss is not.

fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
for name, colour in (("hh", "C0"), ("bias", "C1")):
    ax.loglog(walk, walk_errors[name], "o-", color=colour, lw=2, label=f"d loss / d {name}")
ax.axvline(gradcheck.EPS, color="k", lw=1)
ax.text(gradcheck.EPS * 1.2, walk_errors["hh"].max(), "the checks' $h$", fontsize=9, va="top")
ax.axhline(gradcheck.TOLERANCES[np.dtype(np.float64)], color="grey", ls="--", lw=1)
ax.text(walk[0], gradcheck.TOLERANCES[np.dtype(np.float64)] * 1.4, "float64 tolerance",
        color="grey", fontsize=9)
ax.set_xlabel("finite-difference step $h$")
ax.set_ylabel("relative error, whole-model check")
ax.set_title("the hh check's error is rounding: it moves with $h$")
ax.legend()
plt.show()
