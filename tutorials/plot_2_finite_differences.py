"""
Finite differences: the V curve
===============================

Every gradient on this site is checked against finite differences: nudge a
parameter by :math:`h`, watch the loss move.  How large should :math:`h` be?
Too large and the difference quotient is a poor tangent; too small and the two
losses agree in almost every digit, so their difference is mostly rounding.
Plotting the error against :math:`h` gives a V, and its shape explains the
two choices the checks make: **central differences**, and **float64**.
"""

import matplotlib.pyplot as plt
import numpy as np

import normrnn
from normrnn import gradcheck, reference

# %%
# A model, a document and the exact gradient
# ------------------------------------------
# The exact directional derivative of the loss along a random direction
# :math:`v` is :math:`\langle \nabla L, v \rangle`, with :math:`\nabla L` from
# the model's BPTT (which the other pages check).

model = normrnn.NormRNN(vocab_size=30, hidden_size=12, seed=0)
rng = np.random.default_rng(0)
tokens = rng.integers(0, 30, size=25)
title_length = 3
_, grads = model.loss_and_grads(tokens, title_length)

params = [model.embedding, model.ih, model.hh, model.bias]
directions = [[rng.normal(size=p.shape) for p in params] for _ in range(5)]


def loss(shift, direction, dtype):
    """L(theta + shift * v), computed entirely in ``dtype``."""
    moved = [(p + shift * v).astype(dtype) for p, v in zip(params, direction)]
    return reference.loss(*moved, tokens, title_length)


def exact(direction):
    return sum(float((g * v).sum()) for g, v in zip(
        (grads.embedding, grads.ih, grads.hh, grads.bias), direction))


# %%
# Forward and central differences
# -------------------------------
# The **forward** difference :math:`(L(\theta + h v) - L(\theta)) / h` has a
# truncation error of order :math:`h` (Taylor: the :math:`h^2 L''/2` term is
# left over).  The **central** difference
# :math:`(L(\theta + h v) - L(\theta - h v)) / 2h` cancels that term, leaving
# :math:`h^2 L'''/6`.  Both also suffer the rounding of the subtraction:
# each loss carries an error of about :math:`\varepsilon |L|`, divided by
# :math:`h`.  So the error is about
#
# .. math::
#
#    \text{forward: } c_1 h + \frac{\varepsilon}{h}, \qquad
#    \text{central: } c_2 h^2 + \frac{\varepsilon}{h},
#
# smallest at :math:`h \approx \sqrt{\varepsilon}` (forward) and
# :math:`h \approx \varepsilon^{1/3}` (central).

steps = np.logspace(-13, 0, 53)
curves = {}
for dtype in (np.float64, np.float32):
    for scheme in ("forward", "central"):
        errors = []
        for h in steps:
            per_direction = []
            for v in directions:
                if scheme == "central":
                    fd = (loss(h, v, dtype) - loss(-h, v, dtype)) / (2 * h)
                else:
                    fd = (loss(h, v, dtype) - loss(0.0, v, dtype)) / h
                per_direction.append(abs(fd - exact(v)) / abs(exact(v)))
            errors.append(np.median(per_direction))
        curves[np.dtype(dtype).name, scheme] = np.array(errors)

for (dtype, scheme), errors in curves.items():
    best = np.argmin(errors)
    print(f"{dtype} {scheme:>7}: best h = {steps[best]:.0e}, "
          f"relative error {errors[best]:.1e}")

# %%
# The picture
# -----------

fig, ax = plt.subplots(figsize=(9, 5.5))
styles = {"forward": "--", "central": "-"}
colours = {"float64": "C0", "float32": "C3"}
for (dtype, scheme), errors in curves.items():
    ax.loglog(steps, errors, styles[scheme], color=colours[dtype], lw=2,
              marker="o", ms=3, label=f"{scheme}, {dtype}")
for dtype, eps in (("float64", np.finfo(np.float64).eps), ("float32", np.finfo(np.float32).eps)):
    ax.axvline(eps ** (1 / 3), color=colours[dtype], lw=0.8, ls=":")
    ax.text(eps ** (1 / 3) * 1.15, 3e-12,
            r"$\varepsilon^{1/3}$" + f"\n{dtype}", color=colours[dtype], fontsize=9)
ax.axvline(gradcheck.EPS, color="k", lw=1.2)
ax.text(gradcheck.EPS * 0.8, 2e-12, "the checks' $h$", ha="right", fontsize=9)
ax.axhline(gradcheck.TOLERANCES[np.dtype(np.float64)], color="grey", lw=0.8)
ax.text(1.5e-13, gradcheck.TOLERANCES[np.dtype(np.float64)] * 1.4,
        "float64 tolerance of the checks", color="grey", fontsize=9)
ax.set_xlabel("step $h$")
ax.set_ylabel("relative error of the difference quotient")
ax.set_title("finite-difference error against step size")
ax.set_ylim(1e-12, 1e2)
ax.legend(loc="upper center", ncol=2, fontsize=9)
fig.tight_layout()
plt.show()

# %%
# Reading the V
# -------------
# * Right of each minimum the error falls as :math:`h` shrinks: slope 1 for
#   forward differences, slope 2 for central ones.  Left of it, rounding
#   takes over and the error grows like :math:`1/h`, whatever the scheme.
# * **Central differences** reach a far lower floor, at a larger and so more
#   forgiving :math:`h`.  That is why :mod:`normrnn.gradcheck` uses them, at
#   :math:`h = 10^{-5}` (``gradcheck.EPS``), near :math:`\varepsilon^{1/3}`,
#   in the float64 central V's flat bottom.  (For ``hh`` the step is scaled
#   by each row's norm: see :func:`normrnn.gradcheck.step_sizes`.)
# * **float32** cannot check anything finely.  Its machine epsilon,
#   :math:`1.2 \times 10^{-7}`, puts the bottom of its V near
#   :math:`10^{-4}`, where a formula wrong by 0.01% and rounding look alike;
#   and below :math:`h \approx 10^{-7}` it cannot even see the step: both
#   losses round to the same number, the quotient is 0 and the error 100%.
#   So the checks always take the finite differences in float64, even when
#   they test the float32 kernels.
