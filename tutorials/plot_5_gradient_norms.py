"""
Gradients through time, with and without the row normalisation
===============================================================

How much does the loss at the end of a document care about the state many
steps earlier?  Backpropagation through time answers with a product: each
step back multiplies the gradient by the Jacobian
:math:`\\partial s_{t+1} / \\partial s_t = \\operatorname{diag}(f'(a_t))\\, S`.
If that product shrinks, early tokens stop mattering (vanishing gradients);
if it grows, training blows up (exploding gradients).

NormRNN never uses ``hh`` directly: it uses :math:`S`, every row scaled to
length :math:`1/H`.  This tutorial measures what that buys, by running the
same backward pass with :math:`S` and with a raw, unnormalised matrix.
"""

import matplotlib.pyplot as plt
import numpy as np

import normrnn
from normrnn import bounds, reference

# %%
# Gradients of one loss, carried back
# -----------------------------------
# Take the loss of the last position only, :math:`L_{T-1}`, and carry its
# gradient back through the recurrence with the section functions of
# :mod:`normrnn.reference`: logits at :math:`T-1`, then activation and hh,
# step after step.  ``recurrent`` is the matrix the forward pass multiplies
# the state by: :math:`S` for NormRNN, anything else for the comparison.


def forward(model, tokens, recurrent):
    """States s_0 .. s_{T-1} and pre-activations a_0 .. a_{T-2}, s_{t+1} = f(R s_t + W_ih u_t + b)."""
    states, middles = [np.zeros(model.hidden_size)], []
    for t in range(len(tokens) - 1):
        u = reference.embedding_activation_forward(model.embedding, tokens[t])
        a = recurrent @ states[t] + reference.ih_forward(model.ih, u) + model.bias
        middles.append(a)
        states.append(reference.activation(a))
    return states, middles


def gradient_norms(model, tokens, recurrent):
    """||d L_{T-1} / d s_t|| for t = T-1 down to 0, with s_{t+1} = f(R s_t + W_ih u_t + b)."""
    T = len(tokens)
    states, middles = forward(model, tokens, recurrent)
    _, _, grad = reference.logits_backward(model.embedding, states[-1], tokens[-1])
    norms = [np.linalg.norm(grad)]
    for t in range(T - 1, 0, -1):
        delta = reference.activation_backward(grad, middles[t - 1])
        _, grad = reference.hh_backward(recurrent, states[t - 1], delta)
        norms.append(np.linalg.norm(grad))
    return np.array(norms), np.abs(np.array(middles)).mean()


def recurrent_share(model, tokens, recurrent):
    """||R^T delta_t|| / ||E^T dz_t|| at t = 1 .. T-2, for the loss of the whole document."""
    T = len(tokens)
    states, middles = forward(model, tokens, recurrent)
    share = np.zeros(T)
    grad = np.zeros(model.hidden_size)
    for t in range(T - 1, 0, -1):
        _, _, from_logits = reference.logits_backward(model.embedding, states[t], tokens[t])
        share[t] = np.linalg.norm(grad) / np.linalg.norm(from_logits)
        grad = grad + from_logits
        delta = reference.activation_backward(grad, middles[t - 1])
        _, grad = reference.hh_backward(recurrent, states[t - 1], delta)
    return share[1:T - 1]


H, V, T = 32, 60, 60
model = normrnn.NormRNN(vocab_size=V, hidden_size=H, seed=0)
tokens = np.random.default_rng(0).integers(0, V, size=T)

# %%
# With the row normalisation, and without
# ---------------------------------------
# NormRNN initialises ``hh`` with standard normal entries.  Used raw, such a
# matrix has rows of length about :math:`\sqrt H` and a largest singular
# value about :math:`2\sqrt H`.  We also try raw matrices scaled by
# :math:`c/\sqrt H` (the classic initialisation of plain RNNs) for a few
# scales :math:`c`.

S = reference.row_normalise(model.hh)
cases = {"NormRNN: $S$ = row-normalised hh": S}
names = {"NormRNN: $S$ = row-normalised hh": "NormRNN, S"}
for scale in (0.5, 1.0, 2.0, 4.0):
    label = f"raw hh $\\times\\, {scale:g}/\\sqrt{{H}}$"
    cases[label] = model.hh * scale / np.sqrt(H)
    names[label] = f"raw hh * {scale:g}/sqrt(H)"
cases["raw hh, unscaled"] = model.hh
names["raw hh, unscaled"] = "raw hh, unscaled"

results = {}
for label, matrix in cases.items():
    norms, size = gradient_norms(model, tokens, matrix)
    results[label] = norms
    print(f"{names[label]:<22} largest singular value {np.linalg.norm(matrix, 2):6.3f}   "
          f"mean |a_t| {size:4.2f}   after 10 steps back the gradient is "
          f"{norms[10] / norms[0]:.0e} of its start")

# %%
# The bound
# ---------
# Every row of :math:`S` has length :math:`1/H`, so
# :math:`\|S\|_2 \le \|S\|_F = 1/\sqrt H`, and :math:`|f'| \le 1`.  So one
# step back shrinks the gradient by at least :math:`\sqrt H`, whatever
# :math:`E`, :math:`W_{\mathrm{ih}}`, :math:`W_{\mathrm{hh}}` and :math:`b`
# are, before training and after.  That is the notes' fixed gain; with
# ``gain="learned"`` row :math:`i` has length :math:`|\gamma_i|` and the
# factor is :math:`\|\gamma\|_2` instead, which training can push past 1
# (see :doc:`/sections/hh`):
#
# .. math::
#
#    \Big\|\frac{\partial L_{T-1}}{\partial s_{T-1-k}}\Big\|
#    \le H^{-k/2}\, \Big\|\frac{\partial L_{T-1}}{\partial s_{T-1}}\Big\|.

k = np.arange(T)
bound = results["NormRNN: $S$ = row-normalised hh"][0] * H ** (-k / 2.0)

# %%
# The picture
# -----------

fig, axes = plt.subplots(1, 2, figsize=(13, 5), layout="constrained")
ax = axes[0]
colours = ["C0", "C2", "C1", "C4", "C3", "C5"]
for (label, norms), colour in zip(results.items(), colours):
    ax.semilogy(k, np.maximum(norms, 1e-300), lw=2.2 if "NormRNN" in label else 1.4,
                color=colour, label=label)
ax.semilogy(k, np.maximum(bound, 1e-300), "k:", lw=1.5, label=r"bound $H^{-k/2}$")
ax.set_xlabel("steps back in time, $k$")
ax.set_ylabel(r"$\|\partial L_{T-1} / \partial s_{T-1-k}\|$")
ax.set_title("the gradient of the last loss, carried back")
ax.set_xlim(0, 40)
ax.set_ylim(1e-40, 1e8)
ax.legend(fontsize=8, loc="lower left")

ax = axes[1]
for (label, matrix), colour in zip(cases.items(), colours):
    share = recurrent_share(model, tokens, matrix)
    print(f"{names[label]:<22} median share of the gradient from the future: "
          f"{np.median(share):.1e}")
    ax.semilogy(np.arange(1, T - 1), share, color=colour,
                lw=2.2 if "NormRNN" in label else 1.4, label=label)
ax.set_xlabel("position $t$")
ax.set_ylabel(r"$\|R^\top \delta_t\| \,/\, \|E^\top dz_t\|$")
ax.set_title("whole document: gradient from the future vs from the present")
ax.legend(fontsize=8, loc="lower left")
plt.show()

# %%
# Reading the picture
# -------------------
# * **Left.**  With the row normalisation (thick blue) the gradient of the
#   last loss falls by orders of magnitude per step, always under the dotted
#   bound.  It never explodes, and with the fixed gain it cannot: the bound
#   holds for every value of the parameters, before training and after (a
#   learned gain :math:`\gamma` has the bound :math:`\|\gamma\|_2`
#   instead, which need not be below 1).  The measured curve falls faster
#   than the bound because :math:`\|S\|_2` is typically well under
#   :math:`1/\sqrt H` (the bound is reached only by a rank-one
#   :math:`S`).  Raw matrices go either
#   way, depending on their scale: a small scale :math:`c` vanishes more
#   slowly than NormRNN, :math:`c \ge 2` explodes, and nothing but the initialisation
#   (and then training) decides which.
# * **Right.**  Over a whole document, each state's gradient has two parts:
#   :math:`E^\top dz_t` from its own prediction, and :math:`R^\top \delta_t`
#   (:math:`R` the recurrent matrix) from everything after it.  For NormRNN
#   the second is a small fraction of the first: the model learns mostly from
#   the recent past, and truncated BPTT (see :doc:`/bptt`) costs it little.
#   With a large raw matrix the future's gradient swamps the present's by
#   many orders of magnitude: the exploding gradients that plain RNNs have to
#   clip.

# %%
# What truncated BPTT drops
# -------------------------
# Summing the bound over every position at least :math:`d` steps ahead
# gives the most that truncated BPTT, keeping positions :math:`t, \dots,
# t+d-1` for each state, can drop (:doc:`/bptt`):
#
# .. math::
#
#    \|g_t - g_t^{(d)}\| \le \frac{H^{-d/2}}{1 - H^{-1/2}}\,
#    \max_\tau \|E^\top dz_\tau\|.
#
# :func:`normrnn.bounds.dropped_gradient_norms` measures the left side
# exactly, as the full gradient :math:`d` positions ahead carried back
# :math:`d` steps, for every state of the whole document's loss; here is
# its largest value against the bound, for the model above and a smaller
# one.


depths = np.arange(1, 13)
fig, ax = plt.subplots(figsize=(8, 5), layout="constrained")
for hidden, colour in ((4, "C1"), (H, "C0")):
    small = normrnn.NormRNN(vocab_size=V, hidden_size=hidden, seed=0)
    params = (small.embedding, small.ih, small.hh, small.bias)
    measured, limit = [], []
    for d in depths:
        dropped, direct = bounds.dropped_gradient_norms(*params, tokens, 5, d)
        measured.append(dropped.max())
        limit.append(bounds.truncation_bound(hidden, d, direct.max()))
    measured, limit = np.array(measured), np.array(limit)
    assert np.all(measured <= limit)
    print(f"H = {hidden:2d}: largest dropped gradient / bound at d = 1, 4, 8: "
          + ", ".join(f"{measured[d - 1]:.1e} / {limit[d - 1]:.1e}" for d in (1, 4, 8)))
    ax.semilogy(depths, measured, "o-", color=colour, label=f"measured, H = {hidden}")
    ax.semilogy(depths, limit, ":", color=colour, lw=2, label=f"bound, H = {hidden}")
ax.set_xlabel("window $d$ (positions kept for each state)")
ax.set_ylabel(r"$\max_t \|g_t - g_t^{(d)}\|$")
ax.set_title("the gradient truncated BPTT drops, and its bound")
ax.legend(fontsize=9)
plt.show()

# %%
# Every measured point sits under its bound, and the gap widens with
# :math:`d`: each step back contracts by :math:`\|S\|_2 \max|f'|`, typically
# well below the bound's :math:`1/\sqrt H`, and the slopes :math:`f'(a_t)` are
# mostly below their maximum of 1.  The bound is what can be promised for
# every parameter value; the measurement is what this model does.
