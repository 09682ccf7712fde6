"""
The hidden state while the model reads
======================================

A trained model reads a document character by character; after each one its
state :math:`s_t` (a vector of :math:`H` numbers in :math:`[-\\frac13, 1)`) is
all it remembers.  This tutorial draws those vectors as a heatmap, beside how
much probability the model gave to each character that actually came, and
then measures how long the state remembers anything.
"""

import matplotlib.pyplot as plt
import numpy as np

from normrnn.data import default_corpus
from normrnn.training import TrainConfig, Trainer

# %%
# A model to look at
# ------------------
# A few seconds of training on the default corpus (see
# :doc:`plot_6_training` for the loss curve).

documents = default_corpus()
config = TrainConfig(hidden_size=48, max_steps=1000, batch_size=16, bptt=64,
                     segment=512, eval_every=1000, seed=0)
trainer = Trainer.new(documents, config, progress=False)
result = trainer.run()
model, tokenizer = trainer.model, trainer.tokenizer
print(f"validation loss after {result.state.step} steps: "
      f"{result.valid_bits:.2f} bits per character")

# %%
# A document to read
# ------------------
# The first document whose docstring is between 40 and 60 characters long
# (short enough for every character to be labelled legibly below).

doc = next(d for d in documents if 40 <= len(d.text) <= 60)
tokens, title_length = tokenizer.encode_document(doc)
print(f"title {doc.title!r}, text {doc.text!r}")
print(f"{len(tokens)} tokens: {title_length} of title and separator, then the text "
      "and the end marker")

# %%
# Reading it
# ----------
# ``model.states`` gives :math:`s_0, \dots, s_{T-1}`; state :math:`s_t` has
# read tokens :math:`0..t-1` and predicts token :math:`t`, so
# ``probabilities(states[t])[tokens[t]]`` is the probability the model gave to
# the character that came.

states = model.states(tokens)
p_next = np.array([model.probabilities(states[t])[tokens[t]] for t in range(len(tokens))])
scored = slice(title_length, len(tokens))
nats = -np.log(p_next[scored])
print(f"loss of the text: {nats.sum():.1f} nats = {nats.mean() / np.log(2):.2f} bits per character")
print(f"model.loss agrees: {model.loss(tokens, title_length):.1f} nats")

labels = [tokenizer.decode([t]) for t in tokens]
# one character per position: a space, a newline, the separator and the end marker
labels = [{" ": "␣", "\n": "⏎", "<sep>": "§", "<eot>": "¶"}.get(c, c) for c in labels]

# %%
# How long does the state remember?
# ---------------------------------
# Read the same text after a different title and compare the states
# position by position.  After the title both read the same tokens, so the
# difference of the two states passes through one step at a time:
# :math:`\|s_{t+1} - s'_{t+1}\| \le \max|f'|\, \|S\|_2\, \|s_t - s'_t\|`,
# with :math:`\max|f'| = 1`.  The bound :math:`\|S\|_2 \le 1/\sqrt H`
# guarantees a shrink by at least :math:`\sqrt H` per step; how fast the
# title is forgotten is set by the contraction this model actually applies,
# measured below beside its :math:`\|S\|_2`.

other = type(doc)(title="a completely different title", text=doc.text)
other_tokens, other_title_length = tokenizer.encode_document(other)
other_states = model.states(other_tokens)
text_states = states[title_length:]
other_text_states = other_states[other_title_length:]
difference = np.linalg.norm(text_states - other_text_states, axis=1)
print("state difference at the first 8 text positions:", np.array2string(
    difference[:8], formatter={"float_kind": lambda v: f"{v:.1e}"}))
same = np.flatnonzero(difference == 0)
if same.size:
    print(f"from text position {same[0]} on, the two states are identical to the last bit")
H = model.hidden_size
shrinking = difference[:8][difference[:8] > 0]
per_step = np.exp(np.mean(np.log(shrinking[1:] / shrinking[:-1])))
spectral = np.linalg.norm(model.scaled_hh(), 2)
print(f"per step the difference shrinks by a factor {per_step:.3f} (geometric mean, "
      f"first text positions); this model's ||S||_2 = {spectral:.3f}, "
      f"the bound 1/sqrt(H) = {1 / np.sqrt(H):.3f}")
assert per_step < spectral <= 1 / np.sqrt(H)

# %%
# The picture
# -----------
# Top: the probability of each character that came (the title's positions
# are not scored, and drawn grey); green when it was at least 1/4, blue
# otherwise.  Middle: the state, one row per hidden unit, one column per
# position, the units ordered by their mean.  Bottom: how far the state moves
# when only the title changes.  Under the positions, the tokens read: ``§`` is
# the separator after the title, ``¶`` the end marker, ``␣`` a space.

order = np.argsort(states.mean(axis=0))
T = len(tokens)
fig, axes = plt.subplots(3, 1, figsize=(13, 9.5), layout="constrained",
                         gridspec_kw=dict(height_ratios=[1.1, 3.2, 1.3]), sharex=True)

ax = axes[0]
colours = ["#bbbbbb" if t < title_length else "C2" if p >= 0.25 else "C0"
           for t, p in enumerate(p_next)]
ax.bar(np.arange(T), p_next, color=colours, width=0.85)
ax.axvline(title_length - 0.5, color="k", lw=1)
ax.text(title_length - 0.7, 0.92, "title | text", ha="center", fontsize=9)
ax.set_ylim(0, 1)
ax.set_ylabel("p(next char)")
ax.set_title(f"NormRNN (H = {model.hidden_size}) reading {doc.title!r}")

ax = axes[1]
image = ax.imshow(states[:, order].T, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1,
                  interpolation="nearest")
ax.axvline(title_length - 0.5, color="k", lw=1)
ax.set_ylabel("hidden unit")
fig.colorbar(image, ax=ax, shrink=0.8, label="$s_t$")

ax = axes[2]
positions = np.arange(title_length, T)
ax.semilogy(positions, np.maximum(difference, 1e-300), "o-", color="C3", ms=3)
ax.set_ylim(1e-17, 10)
ax.axvline(title_length - 0.5, color="k", lw=1)
ax.set_ylabel(r"$\|s_t - s'_t\|$")
ax.set_xticks(np.arange(T), labels, fontsize=12, family="monospace")
ax.set_xlabel("token $x_t$ at each position $t$: predicted from $s_t$, "
              "which has read the tokens to its left")
plt.show()

# %%
# What to see
# -----------
# * The columns change abruptly from one character to the next, and the same
#   character tends to give the same column wherever it occurs: the state is
#   mostly a picture of the last character or two read.
# * The title's influence (bottom) drops by orders of magnitude per
#   character, until the two states agree to the last bit (the points stop).
#   The bound :math:`1/\sqrt H` per step only promises that it cannot last;
#   the speed is the typical contraction, the factor per step printed above,
#   well below both the bound and this model's :math:`\|S\|_2`: the slopes
#   :math:`f'(a_t)` are mostly below their maximum of 1, and the difference
#   does not stay along the direction that :math:`S` stretches most
#   (:doc:`plot_5_gradient_norms` shows the same on gradients).  A short
#   memory is the price of the row normalisation.
# * The characters the model predicts well (tall, green bars: probability at
#   least 1/4) are the second halves of common pairs and the spaces after
#   common words.
