"""
Check it against autograd
=========================

The gradient checks compare each section with finite differences.  Here is a
second, independent witness: PyTorch's autograd, asked for the gradient of
*every intermediate*, step by step, in the style of Karpathy's "backprop
ninja".  :func:`normrnn.autograd_check.compare_with_autograd` runs the forward
pass in PyTorch keeping each state s_t, pre-activation a_t and logit vector
z_t (``retain_grad``), and gives every step its own copy of each parameter,
so that the ``.grad`` of a copy is that step's share of the parameter's
gradient.  Then it sets normrnn's own numbers beside them: g_t, delta_t, dz_t
and each step's dE, dW_ih, dS, db, computed section by section by
:mod:`normrnn.reference`.

PyTorch is optional: ``pip install normrnn[torch]``.
"""

import matplotlib.pyplot as plt
import numpy as np
import torch

import normrnn
from normrnn.autograd_check import compare_with_autograd

model = normrnn.NormRNN(vocab_size=7, hidden_size=5, seed=0)
model.bias[:] = np.random.default_rng(1).normal(0, 0.3, 5)
tokens, title_length = [1, 4, 4, 0, 6, 2, 5, 3], 2

comparison = compare_with_autograd(model, tokens, title_length)
print(comparison.table())
print("every tensor at every step approximately equal:", comparison.all_close)

# %%
# "Exact" is rare and that is fine: normrnn and PyTorch add the same terms in
# different orders, so they round differently, by a few units in the last
# place (1e-16).  A wrong formula would be off by order one.
#
# Where a broadcast in the forward becomes a sum in the backward
# --------------------------------------------------------------
# The row normalisation divides row i of W_hh by H n_i, n_i = ||hh[i]||.  In
# PyTorch the norms must keep their axis, shape (H, 1), so that they
# *broadcast along each row*: n_i reaches every entry S_i0 .. S_i(H-1).  In the
# backward, whatever reached many entries gathers their gradients: a
# broadcast in the forward is a sum in the backward, over the axis it was
# broadcast along::
#
#     dL/dn_i = sum_j dL/dS_ij * dS_ij/dn_i = -sum_j dS_ij hh_ij / (H n_i^2)
#
# The notes' PyTorch line leaves out ``keepdim=True`` (erratum 4).  The norms
# then have shape (H,), broadcast as a *row* (1, H): n_j divides column j, and
# the backward sums over the rows instead.  Autograd follows whatever the
# forward did; the gradient of the norms shows which axis was summed.

H = model.hidden_size
hh = torch.tensor(model.hh, requires_grad=True)
w = torch.tensor(np.random.default_rng(2).normal(size=(H, H)))   # a cotangent, dL/dS

norms = torch.linalg.vector_norm(hh, dim=1, keepdim=True)         # (H, 1)
norms.retain_grad()
(w * hh / (H * norms)).sum().backward()

hh_ = hh.detach().numpy()
n = np.linalg.norm(hh_, axis=1)
w_ = w.numpy()
sum_over_columns = -(w_ * hh_).sum(axis=1) / (H * n**2)           # keepdim: sum over j
print("keepdim=True : autograd", norms.grad.numpy().ravel().round(5))
print("               sum_j   ", sum_over_columns.round(5))

hh.grad = None
norms4 = torch.linalg.vector_norm(hh, dim=1)                       # (H,): erratum 4
norms4.retain_grad()
(w * hh / (H * norms4)).sum().backward()
sum_over_rows = -(w_ * hh_).sum(axis=0) / (H * n**2)              # no keepdim: sum over i
print("erratum 4    : autograd", norms4.grad.numpy().round(5))
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
# step (white: not defined at that step, e.g. dz before the text begins).
# Right: the gradient of the row norms, with and without ``keepdim``: each
# autograd value sits on the sum over the axis its broadcast ran along.

names = ["g", "delta", "dz", "d_embedding_logits", "d_embedding_input", "d_ih",
         "d_scaled_hh", "d_bias"]
grid = np.full((len(names), len(tokens)), np.nan)
for row in comparison.rows:
    if row.tensor in names:
        grid[names.index(row.tensor), row.step] = np.log10(max(row.max_difference, 1e-20))

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained",
                                  gridspec_kw={"width_ratios": [1.3, 1]})
image = left.imshow(grid, cmap="viridis", vmin=-20, vmax=-14, aspect="auto")
left.set_yticks(range(len(names)), names, fontsize=8)
left.set_xticks(range(len(tokens)))
left.set_xlabel("step t")
left.set_title("log10 max |normrnn - autograd|  (-20: exactly equal)", fontsize=10)
fig.colorbar(image, ax=left, shrink=0.8)

i = np.arange(H)
right.plot(i, sum_over_columns, "o", ms=11, mfc="none", color="C0", label="sum over j (columns)")
right.plot(i, norms.grad.numpy().ravel(), "x", color="C0", label="autograd, keepdim=True")
right.plot(i, sum_over_rows, "s", ms=11, mfc="none", color="C3", label="sum over i (rows)")
right.plot(i, norms4.grad.numpy(), "+", ms=9, color="C3", label="autograd, erratum 4")
right.axhline(0, color="0.7", lw=0.8)
right.set_xticks(i)
right.set_xlabel("index of the norm")
right.set_ylabel("dL / d norm")
right.set_title("broadcast forward, sum backward", fontsize=10)
right.legend(fontsize=8)
plt.show()
