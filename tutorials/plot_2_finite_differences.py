"""
Finite differences: the V curve
===============================

Every gradient on this site is checked against finite differences: nudge a
parameter by :math:`h`, watch the loss move.  How large should :math:`h` be?
Too large and the difference quotient is a poor tangent; too small and the two
losses agree in almost every digit, so their difference is mostly rounding.
Plotting the error against :math:`h` gives a V, and its shape explains the
two choices the checks make: **central differences**, and **float64**.  A
third way, the **complex step**, has no V at all: it is exact to rounding for
any small :math:`h`.
"""

import matplotlib.pyplot as plt
import numpy as np

import normrnn
from normrnn import gradcheck

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
# the package's own loss, in each dtype: the Cython kernels a float32 model runs
evaluators = {np.dtype(dtype).name: normrnn.NormRNN(vocab_size=30, hidden_size=12, dtype=dtype)
              for dtype in (np.float64, np.float32)}


def loss(shift, direction, dtype):
    """L(theta + shift * v) by a model of ``dtype``: its parameters rounded to it."""
    evaluator = evaluators[np.dtype(dtype).name]
    for name, p, v in zip(("embedding", "ih", "hh", "bias"), params, direction):
        setattr(evaluator, name, (p + shift * v).astype(dtype))
    return evaluator.loss(tokens, title_length)


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
curves, all_zero = {}, {}
for dtype in (np.float64, np.float32):
    for scheme in ("forward", "central"):
        errors, zero = [], []
        for h in steps:
            quotients = []
            for v in directions:
                if scheme == "central":
                    quotients.append((loss(h, v, dtype) - loss(-h, v, dtype)) / (2 * h))
                else:
                    quotients.append((loss(h, v, dtype) - loss(0.0, v, dtype)) / h)
            errors.append(np.median([abs(q - exact(v)) / abs(exact(v))
                                     for q, v in zip(quotients, directions)]))
            zero.append(all(q == 0 for q in quotients))
        curves[np.dtype(dtype).name, scheme] = np.array(errors)
        all_zero[np.dtype(dtype).name, scheme] = np.array(zero)

# each point is the median over the 5 directions
for (dtype, scheme), errors in curves.items():
    best = np.argmin(errors)
    print(f"{dtype} {scheme:>7}: best h = {steps[best]:.0e}, "
          f"relative error {errors[best]:.1e} (median over the directions)")

central32, zero32 = curves["float32", "central"], all_zero["float32", "central"]
blind = steps[np.cumsum(~zero32) == 0]          # zero at this h and every smaller one
bottom = steps[np.argmin(central32)]
lost = steps[(steps > (blind.max() if blind.size else 0)) & (steps < bottom) & (central32 > 1)]
print(f"float32 central: every quotient is exactly 0 for h <= {blind.max():.1e}"
      if blind.size else "float32 central: no step is small enough to give a zero quotient")
if lost.size:
    print(f"float32 central: left of the bottom, {lost.size} steps from h = {lost.min():.1e} "
          f"to {lost.max():.1e} give a median error over 100% (up to "
          f"{central32[np.isin(steps, lost)].max():.0f} times the answer)")

# %%
# The complex step
# ----------------
# Every piece of the loss is *analytic*: :math:`f` is a rational function,
# the softmax and the log are built from :math:`\exp` and :math:`\log`, and
# the row norm :math:`\sqrt{\sum_l (W_{\mathrm{hh}})_{il}^2}` is analytic too, as long as it
# is written with :math:`(W_{\mathrm{hh}})_{il}^2` and not :math:`|(W_{\mathrm{hh}})_{il}|^2`.  So the loss
# can be evaluated at a complex point, and Taylor's series holds there:
#
# .. math::
#
#    L(\theta + i h v) = L(\theta) + i h \langle \nabla L, v \rangle
#       - \frac{h^2}{2}\, D^2 L[v, v] - i \frac{h^3}{6}\, D^3 L[v, v, v] + \dots
#
# The imaginary part, divided by :math:`h`, is the directional derivative
# with an error of order :math:`h^2`, and **nothing is subtracted**: no two
# nearly equal numbers cancel, so :math:`h` can be as small as we like and
# the error falls to the rounding of one loss, about
# :math:`\varepsilon_{\text{mach}} = 2.2 \times 10^{-16}`.  The price is one
# evaluation in complex arithmetic per direction, and code that only uses
# analytic operations (no ``abs``, no comparisons of values that depend on
# :math:`h`).  Here is the model's loss written that way; at a real point it
# is the model's loss:

from normrnn.reference import activation  # noqa: E402  (1 - 1/(x*x + x + 1): analytic)


def analytic_loss(embedding, ih, hh, bias):
    """The model's loss with only analytic operations, for real or complex parameters."""
    H = hh.shape[1]
    scaled_hh = hh / (H * np.sqrt((hh * hh).sum(axis=1, keepdims=True)))   # hh^2, not |hh|^2
    state = np.zeros(H, dtype=embedding.dtype)
    total = 0.0
    for t, x in enumerate(tokens):
        if t >= title_length:
            z = embedding @ state
            total = total - (z[x] - np.log(np.exp(z).sum()))
        if t < len(tokens) - 1:
            state = activation(scaled_hh @ state + ih @ activation(embedding[x]) + bias)
    return total


print(f"analytic_loss - model.loss = "
      f"{analytic_loss(*params) - model.loss(tokens, title_length):.1e}")

complex_steps = np.logspace(-20, 0, 81)
complex_errors, complex_worst = [], []
for h in complex_steps:
    per_direction = []
    for v in directions:
        moved = [p + 1j * h * d for p, d in zip(params, v)]
        derivative = analytic_loss(*moved).imag / h
        per_direction.append(abs(derivative - exact(v)) / abs(exact(v)))
    complex_errors.append(np.median(per_direction))
    complex_worst.append(max(per_direction))
complex_errors, complex_worst = np.array(complex_errors), np.array(complex_worst)
small = complex_steps <= 1e-8
print(f"complex step, every h from 1e-20 to 1e-8: median relative error over the "
      f"directions at most {complex_errors[small].max():.1e}, and no single direction "
      f"worse than {complex_worst[small].max():.1e}")

# %%
# The picture
# -----------

fig, ax = plt.subplots(figsize=(9, 5.5))
styles = {"forward": "--", "central": "-"}
colours = {"float64": "C0", "float32": "C3"}
for (dtype, scheme), errors in curves.items():
    ax.loglog(steps, errors, styles[scheme], color=colours[dtype], lw=2,
              marker="o", ms=3, label=f"{scheme}, {dtype}")
ax.loglog(complex_steps, np.maximum(complex_errors, 1e-17), "-", color="C2", lw=2,
          marker="s", ms=3, label="complex step, float64")
for dtype, eps in (("float64", np.finfo(np.float64).eps), ("float32", np.finfo(np.float32).eps)):
    ax.axvline(eps ** (1 / 3), color=colours[dtype], lw=0.8, ls=":")
    ax.text(eps ** (1 / 3) * 1.15, 1e-13,
            r"$\varepsilon^{1/3}$" + f"\n{dtype}", color=colours[dtype], fontsize=9)
ax.axvline(gradcheck.EPS, color="k", lw=1.2)
ax.text(gradcheck.EPS * 0.8, 2e-17, "the checks' $h$", ha="right", fontsize=9)
ax.axhline(gradcheck.TOLERANCES[np.dtype(np.float64)], color="grey", lw=0.8)
ax.text(2e-20, gradcheck.TOLERANCES[np.dtype(np.float64)] * 1.4,
        "float64 tolerance of the checks", color="grey", fontsize=9)
ax.set_xlabel("step $h$")
ax.set_ylabel("relative error of the difference quotient")
ax.set_title("finite-difference error against step size")
ax.axhline(np.finfo(np.float64).eps, color="C2", lw=0.8, ls=":")
ax.text(2e-20, np.finfo(np.float64).eps * 15, "float64 machine epsilon", color="C2",
        fontsize=9)
ax.set_ylim(1e-17, 1e2)
ax.legend(loc="upper left", ncol=2, fontsize=9)
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
#   :math:`1.2 \times 10^{-7}`, puts the bottom of its V orders of magnitude
#   above float64's (the best :math:`h` and error printed above), where a
#   formula slightly wrong and rounding look alike.  Left of the bottom the
#   step survives the rounding to float32 only in the smallest parameters
#   (the bias starts at zero), by a rounded amount, so the quotient is
#   mostly rounding and can be many times the answer (the steps printed
#   above); further left the step is lost entirely, the two losses are
#   equal, the quotient is exactly 0 and the error 100% (the flat line at 1,
#   from the largest such :math:`h` printed above down).  So the checks
#   always take the finite differences in float64, even when they test the
#   float32 kernels.
# * **The complex step** (green) has no V: at large :math:`h` it falls with
#   slope 2 like the central difference, and below that it stays at the
#   rounding floor, :math:`10^{-16}` to :math:`10^{-15}` (the rounding of the
#   loss and of the BPTT gradient it is compared with), down to
#   :math:`h = 10^{-20}`, because nothing is subtracted.  It checks a derivative to every digit
#   float64 has.  :mod:`normrnn.gradcheck` still uses central differences:
#   they need only the real forward pass, which is the code under test,
#   while the complex step needs a separate, analytic-only forward such as
#   ``analytic_loss`` above.
