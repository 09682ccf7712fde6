"""
Check it against autograd
=========================

The gradient checks compare each section with finite differences.  Here is a
second, independent witness: autograd, asked for the gradient of *every
intermediate*, in the style of Karpathy's "backprop ninja".
:func:`normrnn.autograd_check.compare_with_autograd` runs the forward pass in
an autograd framework exposing each state s_t, pre-activation a_t and logit
vector z_t, and gives every step its own copy of each parameter, so that the
gradient of a copy is that step's share of the parameter's gradient.  Then it
sets normrnn's own numbers beside them: g_t and dz_t at every position,
delta_t and each step's dE, dW_ih, dS, db, computed section by section by
:mod:`normrnn.reference`.

The witness is PyTorch or JAX, whichever is installed (PyTorch first); both
are optional, and ``pip install normrnn[docs]`` installs JAX, the lighter.
"""

import matplotlib.pyplot as plt
import numpy as np

import normrnn
from normrnn.autograd_check import available_backend, compare_with_autograd, norms_gradient

backend = available_backend()
print("autograd from:", {"torch": "PyTorch", "jax": "JAX"}[backend])

model = normrnn.NormRNN(vocab_size=7, hidden_size=5, seed=0)
model.bias[:] = np.random.default_rng(1).normal(0, 0.3, 5)
tokens, title_length = [1, 4, 4, 0, 6, 2, 5, 3], 2

comparison = compare_with_autograd(model, tokens, title_length, backend=backend)
print(comparison.table())
print("every tensor at every position and step approximately equal:", comparison.all_close)

# %%
# "Exact" is rare and that is fine: normrnn and PyTorch add the same terms in
# different orders, so they round differently, by a few units in the last
# place (1e-16).  A wrong formula would be off by order one.
#
# Where a broadcast in the forward becomes a sum in the backward
# --------------------------------------------------------------
# The row normalisation divides row i of W_hh by H n_i, n_i = ||hh[i]||.  In
# PyTorch (as in NumPy and JAX) the norms must keep their axis, shape (H, 1), so that they
# *broadcast along each row*: n_i reaches every entry S_i0 .. S_i(H-1).  In the
# backward, whatever reached many entries gathers their gradients: a
# broadcast in the forward is a sum in the backward, over the axis it was
# broadcast along::
#
#     dL/dn_i = sum_j dL/dS_ij * dS_ij/dn_i = -sum_j dS_ij hh_ij / (H n_i^2)
#
# The notes' PyTorch line leaves out ``keepdim=True`` (``keepdims`` in NumPy
# and JAX; erratum 4).  The norms
# then have shape (H,), broadcast as a *row* (1, H): n_j divides column j, and
# the backward sums over the rows instead.  Autograd follows whatever the
# forward did; the gradient of the norms shows which axis was summed.

H = model.hidden_size
hh = model.hh
w = np.random.default_rng(2).normal(size=(H, H))                  # a cotangent, dL/dS
n = np.linalg.norm(hh, axis=1)

with_keepdim = norms_gradient(hh, w, keepdims=True, backend=backend)    # norms (H, 1)
sum_over_columns = -(w * hh).sum(axis=1) / (H * n**2)                   # keepdim: sum over j
print("keepdim=True : autograd", with_keepdim.round(5))
print("               sum_j   ", sum_over_columns.round(5))

without_keepdim = norms_gradient(hh, w, keepdims=False, backend=backend)  # (H,): erratum 4
sum_over_rows = -(w * hh).sum(axis=0) / (H * n**2)                      # no keepdim: sum over i
print("erratum 4    : autograd", without_keepdim.round(5))
print("               sum_i   ", sum_over_rows.round(5))

# %%
# normrnn's own comparison includes that gradient: the row ``d_norms`` of the
# table above is -sum_j dS_ij hh_ij / (H n_i^2), with dS summed over the steps
# (another broadcast: the one S is read by every step, so its gradient is the
# sum of every step's share, the rows ``d_scaled_hh``).

per_step = [r for r in comparison.rows if r.tensor == "d_scaled_hh"]
print(f"d_scaled_hh compared at {len(per_step)} steps; d_norms max difference "
      f"{[r for r in comparison.rows if r.tensor == 'd_norms'][0].max_difference:.1e}")

# %%
# The picture
# -----------
# Left: the largest difference between normrnn and autograd, per tensor and
# index t, a position for g, dz and dE (logits) and a step for the others
# (white: not defined there, e.g. dz before the text begins, or a step after
# the last).
# Right: the gradient of the row norms, with and without ``keepdim``: each
# autograd value sits on the sum over the axis its broadcast ran along.

names = ["g", "delta", "dz", "d_embedding_logits", "d_embedding_input", "d_ih",
         "d_scaled_hh", "d_bias"]
grid = np.full((len(names), len(tokens)), np.nan)
for row in comparison.rows:
    if row.tensor in names:
        grid[names.index(row.tensor), row.index] = np.log10(max(row.max_difference, 1e-20))

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained",
                                  gridspec_kw={"width_ratios": [1.3, 1]})
image = left.imshow(grid, cmap="viridis", vmin=-20, vmax=-14, aspect="auto")
left.set_yticks(range(len(names)), names, fontsize=8)
left.set_xticks(range(len(tokens)))
left.set_xlabel("t: position (g, dz, d_embedding_logits) or step (the others)")
left.set_title("log10 max |normrnn - autograd|  (-20: exactly equal)", fontsize=10)
fig.colorbar(image, ax=left, shrink=0.8)

i = np.arange(H)
right.plot(i, sum_over_columns, "o", ms=11, mfc="none", color="C0", label="sum over j (columns)")
right.plot(i, with_keepdim, "x", color="C0", label="autograd, keepdim=True")
right.plot(i, sum_over_rows, "s", ms=11, mfc="none", color="C3", label="sum over i (rows)")
right.plot(i, without_keepdim, "+", ms=9, color="C3", label="autograd, erratum 4")
right.axhline(0, color="0.7", lw=0.8)
right.set_xticks(i)
right.set_xlabel("index of the norm")
right.set_ylabel("dL / d norm")
right.set_title("broadcast forward, sum backward", fontsize=10)
right.legend(fontsize=8)
plt.show()
