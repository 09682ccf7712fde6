"""
What the 1/H costs
==================

The notes scale every row of :math:`S` to length :math:`1/H`.  Whatever the
state knew is then multiplied, at every step, by a matrix of spectral norm
at most :math:`1/\\sqrt{H}`: the past fades within a character or two.  The
:doc:`/sections/gain` section makes that length a parameter, one gain
:math:`\\gamma_i` per row, initialised at :math:`1/H` (weight normalisation).

This tutorial trains both models on the embedded corpus (standard-library
docstrings) with the same budget, the same seed and the same split, and
measures what the learned gain buys: held-out bits against n-gram baselines,
what the recurrence carries, how much the title matters, how far gradients
reach back, and what the samples look like.  Every number below is computed
while this page is built; the budget is small (a few hundred thousand
characters), so the numbers are those of a short run.
"""

import time

import matplotlib.pyplot as plt
import numpy as np

from normrnn import reference
from normrnn.data.default_corpus import default_corpus
from normrnn.training import TrainConfig, Trainer
from normrnn.training.evaluation import evaluate
from normrnn.baselines import ngram_bits_per_token
from normrnn.training.sampling import prefix_state, sample

# %%
# Two models, one budget
# ----------------------
# The same :class:`~normrnn.training.TrainConfig` but for ``gain``: same
# seed (so the same initial weights, split and minibatches), same number of
# optimizer steps.  At step 0 the two models are the same function, since
# the learned gain starts at :math:`1/H`.

documents = default_corpus()
BUDGET = dict(hidden_size=32, lr=0.02, batch_size=32, bptt=128, max_steps=200,
              eval_every=10**6, n_threads=2, seed=0)
trainers = {}
for gain in ("fixed", "learned"):
    start = time.perf_counter()
    trainer = Trainer.new(documents, TrainConfig(gain=gain, **BUDGET), progress=False)
    result = trainer.run()
    trainers[gain] = trainer
    print(f"gain {gain:>7}: {result.state.step} steps, {result.state.tokens} tokens, "
          f"{time.perf_counter() - start:.0f} s")

corpus = trainers["fixed"].corpus
V = trainers["fixed"].tokenizer.vocab_size
print(f"{len(corpus.train)} training and {len(corpus.valid)} held-out documents")

# %%
# Held-out bits, against n-gram baselines
# ---------------------------------------
# The baselines are interpolated Kneser-Ney character models
# (:mod:`normrnn.baselines`) counted on the same training documents and
# measured on the same held-out ones.  A unigram knows character frequencies;
# a bigram, the previous character; a trigram, the previous two.
#
# "S zeroed" is the same trained model with a gain of zero on every row, so
# :math:`S = 0`: the state then sees only the last character read.  The gap
# between the two columns is what the recurrence carries.


def held_out_bits(model):
    return evaluate(model, corpus.valid, n_threads=2).bits_per_token


def without_recurrence(model):
    """The same model with S = 0: a zero gain on every row."""
    zeroed = model.copy()
    zeroed.gain = np.zeros(model.hidden_size, dtype=model.dtype)
    return zeroed


baselines = {name: ngram_bits_per_token(corpus.train, corpus.valid, n, V)
             for n, name in ((1, "unigram"), (2, "bigram"), (3, "trigram"))}
bits = {gain: held_out_bits(t.model) for gain, t in trainers.items()}
zeroed = {gain: held_out_bits(without_recurrence(t.model)) for gain, t in trainers.items()}

print(f"{'':>16}{'bits/char':>11}{'S zeroed':>10}{'recurrence':>12}")
for gain in trainers:
    print(f"{'gain ' + gain:>16}{bits[gain]:11.3f}{zeroed[gain]:10.3f}"
          f"{zeroed[gain] - bits[gain]:12.3f}")
for name, value in baselines.items():
    print(f"{name:>16}{value:11.3f}")

# %%
# With the gain fixed at :math:`1/H`, zeroing :math:`S` changes little: the
# model is close to a bigram model with extra steps.  With a learned gain
# the recurrence carries more, and zeroing it costs more than it did.
#
# Where did the gains go?  Their absolute values (the lengths of the rows of
# :math:`S`), against the :math:`1/H` they started from:

gains = np.abs(trainers["learned"].model.gain)
H = BUDGET["hidden_size"]
print(f"|gamma|: min {gains.min():.3f}, median {np.median(gains):.3f}, max {gains.max():.3f} "
      f"(1/H = {1 / H:.4f}); negative gains: {(trainers['learned'].model.gain < 0).sum()}")
for gain, t in trainers.items():
    print(f"gain {gain:>7}: spectral norm of S = {np.linalg.norm(t.model.scaled_hh(), 2):.3f}")

# %%
# How far the title moves the first character
# -------------------------------------------
# The model reads the title, then a separator, then writes.  The first
# character's distribution depends on the title only through the state, that
# is through :math:`S`.  The total variation distance between two titles'
# distributions is 0 when the title does not matter, 1 when the two
# distributions have nothing in common.

TITLES = ("json.dumps", "heapq", "textwrap.dedent", "collections.OrderedDict")


def first_character(trainer, title):
    model, tokenizer = trainer.model, trainer.tokenizer
    return model.probabilities(prefix_state(model, tokenizer.encode_title(title)))


title_tv = {}
for gain, t in trainers.items():
    firsts = [first_character(t, title) for title in TITLES]
    title_tv[gain] = max(0.5 * np.abs(p - q).sum() for p in firsts for q in firsts)
    print(f"gain {gain:>7}: largest total variation between titles {title_tv[gain]:.3f}")

# %%
# Gradient norms through time
# ---------------------------
# How much does the loss at the last position of a held-out document care
# about the state :math:`k` steps earlier?  Backpropagation multiplies the
# gradient by :math:`S^\top \operatorname{diag}(f'(a))` at each step back
# (:doc:`/sections/hh`, :doc:`/sections/activation`); its norm after
# :math:`k` steps is drawn below, computed with the sections of
# :mod:`normrnn.reference`.


def gradient_norms(model, tokens):
    """||d L_{T-1} / d s_t|| for t = T-1 down to 0."""
    S = model.scaled_hh()
    states, middles = [np.zeros(model.hidden_size)], []
    for t in range(len(tokens) - 1):
        u = reference.embedding_activation_forward(model.embedding, tokens[t])
        middles.append(S @ states[t] + reference.ih_forward(model.ih, u) + model.bias)
        states.append(reference.activation(middles[-1]))
    _, _, grad = reference.logits_backward(model.embedding, states[-1], tokens[-1])
    norms = [np.linalg.norm(grad)]
    for t in range(len(tokens) - 1, 0, -1):
        delta = reference.activation_backward(grad, middles[t - 1])
        _, grad = reference.hh_backward(S, states[t - 1], delta)
        norms.append(np.linalg.norm(grad))
    return np.array(norms)


document = max(corpus.valid, key=lambda d: len(d[0]))[0][:60]
through_time = {gain: gradient_norms(t.model, document) for gain, t in trainers.items()}
for gain, norms in through_time.items():
    print(f"gain {gain:>7}: gradient norm 5 steps back / at the end = "
          f"{norms[5] / norms[0]:.1e}, 20 steps back: {norms[20] / norms[0]:.1e}")

# %%
# Samples for two titles
# ----------------------
# Same seed, same temperature, two titles.  With the gain fixed the title
# barely reaches the text; with the learned gain it can.

for gain, t in trainers.items():
    for title in TITLES[:2]:
        text = sample(t.model, t.tokenizer, title, max_tokens=160, temperature=0.7, seed=0)
        print(f"--- gain {gain}, title {title!r}, seed 0\n{text}\n")

# %%
# The picture
# -----------

fig, (ax_bits, ax_time, ax_gain) = plt.subplots(1, 3, figsize=(13, 4.2))
names = ["gain fixed", "gain learned", *baselines]
values = [bits["fixed"], bits["learned"], *baselines.values()]
colors = ["tab:blue", "tab:orange"] + ["0.6"] * len(baselines)
ax_bits.bar(names, values, color=colors)
ax_bits.bar(names[:2], [zeroed["fixed"], zeroed["learned"]], fill=False, hatch="//",
            edgecolor="k", label="same model, S zeroed")
ax_bits.set_ylim(min(values) - 0.5, max(values + list(zeroed.values())) + 0.2)
ax_bits.set_ylabel("held-out bits per character")
ax_bits.set_title("held-out loss")
ax_bits.tick_params(axis="x", rotation=30)
ax_bits.legend(loc="upper right", fontsize=8)

for gain, norms in through_time.items():
    ax_time.semilogy(norms / norms[0], label=f"gain {gain}")
ax_time.set_xlabel("steps back from the last position")
ax_time.set_ylabel("||dL/ds_t|| (relative)")
ax_time.set_title("gradients through time")
ax_time.legend()

ax_gain.hist(gains, bins=16, color="tab:orange")
ax_gain.axvline(1 / H, color="tab:blue", linestyle="--", label="1/H (fixed)")
ax_gain.set_xlabel("|gamma_i|, the length of row i of S")
ax_gain.set_ylabel("rows")
ax_gain.set_title(f"learned gains (title TV: fixed {title_tv['fixed']:.2f}, "
                  f"learned {title_tv['learned']:.2f})", fontsize=9)
ax_gain.legend()
fig.tight_layout()
plt.show()
