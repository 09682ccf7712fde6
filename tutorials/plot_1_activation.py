"""
The activation and its derivative
=================================

NormRNN squashes its pre-activations with

.. math::

   f(x) = 1 - \\frac{1}{x^2 + x + 1}, \\qquad
   f'(x) = \\frac{2x + 1}{(x^2 + x + 1)^2}.

The author's notes only ever write down :math:`f'`.  This tutorial draws both,
checks that one is the derivative of the other, and shows why, of all the
functions with that derivative, the package picked the one with
:math:`f(0) = 0`.
"""

import matplotlib.pyplot as plt
import numpy as np

import normrnn
from normrnn import reference, sections

# %%
# The function and its slope
# --------------------------
# :mod:`normrnn.sections` runs the Cython kernels; :mod:`normrnn.reference`
# is the same formula in NumPy.  They agree to the last bit or two.

x = np.linspace(-6, 6, 1201)
f, df = sections.activation(x), sections.activation_grad(x)
print("largest difference from NumPy:", np.abs(f - reference.activation(x)).max())

# %%
# Is ``df`` the derivative of ``f``?  Compare with central differences of
# ``f`` itself, at a step of 1e-5:

h = 1e-5
numerical = (reference.activation(x + h) - reference.activation(x - h)) / (2 * h)
print(f"largest |f' - (f(x+h) - f(x-h)) / 2h| = {np.abs(df - numerical).max():.1e}")

# %%
# Where are the special points?  :math:`f` has its minimum
# :math:`-\frac13` at :math:`x = -\frac12`, where :math:`f'` crosses zero, and
# :math:`|f'|` is largest, 1, at :math:`x = 0` and :math:`x = -1`.  For large
# :math:`|x|`, :math:`f' \approx 2/x^3`: a saturated unit passes almost no
# gradient back.

print("f(-1/2) =", reference.activation(np.array([-0.5]))[0])
print("f'(0), f'(-1) =", reference.activation_grad(np.array([0.0, -1.0])))
print("max |f'| on the grid:", np.abs(df).max())
print("f'(20) =", reference.activation_grad(np.array([20.0]))[0], " 2/20^3 =", 2 / 20**3)

# %%
# Why :math:`f(0) = 0`?
# ---------------------
# Every :math:`f_C(x) = C - 1/(x^2 + x + 1)` has the derivative the notes
# give.  The constant is not a detail: it moves the output of every
# activation by the same amount, so after one step the logits :math:`E s`
# move by a multiple of :math:`E\mathbf 1`, a different amount for every
# token, and the next pre-activation by a multiple of
# :math:`(S + W_{\mathrm{ih}})\mathbf 1`; through :math:`f` again that is no
# longer a shift, so every later state, and the loss, depend on it.  Which
# :math:`C` is right?
#
# :math:`C = 1` is the one with :math:`f(0) = 0`, and three things follow:
#
# * **A unit that receives nothing says nothing.**  Like ``tanh``, a zero
#   pre-activation gives a zero state, and the model's starting state
#   :math:`s_0 = 0` is a state the recurrence itself can produce: with no
#   input and no bias, zero stays zero.
# * **The states are centred.**  :math:`f_1` ranges over
#   :math:`[-\frac13, 1)`, on both sides of zero; :math:`f_0 = -1/q` ranges
#   over :math:`[-\frac43, 0)`: every state component of every token would
#   be negative.
# * **Nothing is lost**: the slope, and so every gradient formula of the
#   notes, is the same for every :math:`C`.
#
# Let a random model read a random document with each :math:`C`, using the
# NumPy sections, and look at the states it produces.

def states_with(C, model, tokens):
    """The model's forward pass with f replaced by C - 1/(x^2 + x + 1)."""
    scaled_hh = reference.row_normalise(model.hh)
    s = np.zeros(model.hidden_size)
    out = [s]
    for token in tokens[:-1]:
        u = C - 1 / (model.embedding[token] ** 2 + model.embedding[token] + 1)
        a = reference.hh_forward(scaled_hh, s) + reference.ih_forward(model.ih, u) + model.bias
        s = C - 1 / (a * a + a + 1)
        out.append(s)
    return np.array(out)


model = normrnn.NormRNN(vocab_size=40, hidden_size=32, seed=0)
tokens = np.random.default_rng(0).integers(0, 40, size=200)
family = {C: states_with(C, model, tokens) for C in (0.0, 0.5, 1.0)}
for C, states in family.items():
    print(f"C = {C}: states range over [{states[1:].min():+.2f}, {states[1:].max():+.2f}], "
          f"mean {states[1:].mean():+.3f}")

# changing C shifts each activation's output, but not the states: the shift
# goes through f again at the next step
moved = family[0.5][1:] - family[1.0][1:]
print(f"s_t(C = 0.5) - s_t(C = 1) ranges over [{moved.min():+.3f}, {moved.max():+.3f}], "
      f"not the constant -0.5 a mere shift would give")

# the package's model is the C = 1 member of the family
print("C = 1 matches NormRNN.states:",
      np.allclose(family[1.0], model.states(tokens)))

# %%
# The picture
# -----------

fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))

ax = axes[0]
ax.plot(x, f, label="$f(x)$", lw=2)
ax.plot(x, df, label="$f'(x)$", lw=2)
ax.plot(x, np.tanh(x), "--", color="grey", lw=1, label=r"$\tanh x$, for comparison")
ax.plot([-0.5], [-1 / 3], "o", color="C0")
ax.annotate("minimum $-1/3$\nat $x=-1/2$", (-0.5, -1 / 3), (-5.8, -0.75),
            arrowprops=dict(arrowstyle="->", color="C0"), color="C0")
ax.plot([0, -1], [1, -1], "o", color="C1")
ax.axhline(0, color="k", lw=0.5)
ax.axvline(0, color="k", lw=0.5)
ax.set_xlabel("$x$")
ax.set_title("the activation and its slope")
ax.legend(loc="lower right", fontsize=8)
ax.set_ylim(-1.2, 1.2)

ax = axes[1]
for C, colour in zip((0.0, 0.5, 1.0), ("C3", "C2", "C0")):
    ax.plot(x, C - 1 / (x * x + x + 1), color=colour, lw=2,
            label=f"$C = {C:g}$" + ("  (normrnn)" if C == 1 else ""))
    ax.plot([0], [C - 1], "o", color=colour)
ax.axhline(0, color="k", lw=0.5)
ax.axvline(0, color="k", lw=0.5)
ax.set_xlabel("$x$")
ax.set_title("$C - 1/(x^2+x+1)$: same slope, different $f(0) = C - 1$")
ax.legend(fontsize=8, loc="lower right")

ax = axes[2]
bins = np.linspace(-1.4, 1.0, 61)
for C, colour in zip((0.0, 0.5, 1.0), ("C3", "C2", "C0")):
    ax.hist(family[C][1:].ravel(), bins=bins, color=colour, alpha=0.55, label=f"$C = {C:g}$")
ax.axvline(0, color="k", lw=0.8)
ax.set_xlabel("state component")
ax.set_ylabel("count")
ax.set_title("states of one model reading 200 tokens")
ax.legend(fontsize=8)

fig.tight_layout()
plt.show()
