"""
Training on the default corpus
==============================

Everything so far checked gradients.  This tutorial uses them: it trains a
small NormRNN on the package's default corpus, the docstrings of the Python
standard library (a document's title is the dotted name, ``json.dumps``; its
text the docstring), draws the loss curve, and asks the model to write texts
for a few titles.

The run is kept to a few seconds (a small model, a fixed number of steps);
``normrnn train`` or ``normrnn demo`` train for longer.
"""

import textwrap

import matplotlib.pyplot as plt
import numpy as np

from normrnn.data import default_corpus
from normrnn.training import TrainConfig, Trainer, sample

# %%
# The corpus
# ----------
# Built at run time from the installed standard library, so nothing is
# downloaded (and the exact corpus depends on the Python version).

documents = default_corpus()
print(f"{len(documents)} documents, {sum(len(d.text) for d in documents):,} characters")
for doc in documents[100:103]:
    print(f"\n--- {doc.title} ---\n" + textwrap.shorten(doc.text, 160))

# %%
# Training
# --------
# Minibatches of 16 documents, read in chunks of 64 characters with truncated
# BPTT (the state is carried from chunk to chunk, the gradient is not), Adam,
# and a gradient clipped to norm 5.  The gradients are exactly those the
# other pages derive and check.

config = TrainConfig(hidden_size=64, max_steps=1500, batch_size=16, bptt=64,
                     segment=512, eval_every=150, seed=0)
trainer = Trainer.new(documents, config, progress=False)
result = trainer.run()
print(f"stopped after {result.state.step} steps ({result.reason}), "
      f"{result.state.tokens:,} scored characters, "
      f"{result.tokens_per_second:,.0f} characters per second")
print(f"validation: {result.valid_bits:.3f} bits per character "
      f"(unigram baseline {result.unigram_bits:.3f}, uniform "
      f"{np.log2(trainer.tokenizer.vocab_size):.3f})")

# %%
# The loss curve
# --------------
# The loss is in **bits per character**: :math:`\log_2 V` for a model that
# guesses uniformly, and the unigram baseline for one that knows only how
# often each character occurs.  Each training step's loss is noisy (its
# minibatch is small), so it is drawn with a running mean; the validation
# loss, on held-out documents, is measured every 150 steps.

history = result.state.history
steps, bits = np.array(history.steps), np.array(history.bits)
window = 50
smooth = np.convolve(bits, np.ones(window) / window, mode="valid")
evals = np.array(history.evals)

fig, ax = plt.subplots(figsize=(9, 5), layout="constrained")
ax.plot(steps, bits, color="C0", alpha=0.25, lw=0.8, label="training minibatch")
ax.plot(steps[window - 1:], smooth, color="C0", lw=2, label=f"training, mean of {window} steps")
ax.plot(evals[:, 0], evals[:, 3], "o-", color="C3", lw=2, label="validation")
ax.axhline(result.unigram_bits, color="grey", ls="--", lw=1.2)
ax.text(steps[-1], result.unigram_bits + 0.08, "unigram baseline", ha="right", color="grey")
ax.axhline(np.log2(trainer.tokenizer.vocab_size), color="k", ls=":", lw=1)
ax.text(steps[-1], np.log2(trainer.tokenizer.vocab_size) + 0.08, "uniform guess", ha="right")
ax.set_ylim(result.valid_bits - 0.6, np.log2(trainer.tokenizer.vocab_size) + 0.6)
ax.set_xlabel("optimizer step")
ax.set_ylabel("bits per character")
ax.set_title(f"NormRNN, H = {config.hidden_size}, on the standard library's docstrings")
ax.legend()
plt.show()

# %%
# Samples
# -------
# The model reads a title and a separator, then writes one character at a
# time, each drawn from its predicted distribution (sharpened a little by a
# temperature of 0.8) until it writes the end marker or reaches 160
# characters.  Three draws for one title:

for seed in (1, 2, 3):
    text = sample(trainer.model, trainer.tokenizer, "json.dumps", max_tokens=160,
                  temperature=0.8, seed=seed)
    print(f"--- json.dumps, seed {seed} ---\n{textwrap.fill(text, 80)}\n")

# %%
# And one draw, with the same seed, for each of four titles:

titles = ["json.dumps", "os.path.join", "random.shuffle", "abc"]
for title in titles:
    text = sample(trainer.model, trainer.tokenizer, title, max_tokens=80,
                  temperature=0.8, seed=1)
    print(f"{title:>15}: {text!r}")

# %%
# What the title changes
# ----------------------
# With the same random seed, the texts for different titles come out the
# same, or nearly.  That is not a bug of the sampler: it is the model.  Each
# step can pass on at most :math:`1/\sqrt H` of a difference in the state
# (every row of :math:`S` has length :math:`1/H` and :math:`|f'| \le 1`, see
# :doc:`/sections/hh`), and in practice passes on far less: the typical
# contraction, which :doc:`plot_7_hidden_state` measures, is stronger
# than that bound.  So by the time the title and separator have been read,
# the title's first characters are long forgotten.  How different are the
# predictions for the first character of the text?

model, tokenizer = trainer.model, trainer.tokenizer
first = {}
for title in titles:
    prefix = tokenizer.encode_title(title)
    state = model.states(np.append(prefix, 0).astype(np.int32))[-1]
    first[title] = model.probabilities(state)
for title in titles[1:]:
    distance = 0.5 * np.abs(first[title] - first[titles[0]]).sum()
    print(f"total variation between the first-character predictions for "
          f"{titles[0]!r} and {title!r}: {distance:.1e}")

# %%
# The model has learnt what a character-level model with a memory of a
# character or two can learn: common letter pairs, spaces, punctuation.  The
# row normalisation that makes its gradients safe (:doc:`plot_5_gradient_norms`)
# also makes its memory short.  The picture: the predicted distribution of
# the text's first character after each title, its twelve likeliest
# characters, one bar per title.  The bars of a character are as tall as one
# another: the title has been forgotten.

likeliest = np.argsort(first[titles[0]])[::-1][:12]
names = [repr(tokenizer.decode([int(i)])) for i in likeliest]
width = 0.8 / len(titles)
fig, ax = plt.subplots(figsize=(9, 4.5), layout="constrained")
for k, title in enumerate(titles):
    ax.bar(np.arange(len(likeliest)) + (k - (len(titles) - 1) / 2) * width,
           first[title][likeliest], width=width, color=f"C{k}", label=title)
ax.set_xticks(np.arange(len(likeliest)), names, fontsize=11)
ax.set_xlabel("first character of the text")
ax.set_ylabel("predicted probability")
ax.set_title("the first character's prediction, after four different titles")
ax.legend(title="title", fontsize=9)
plt.show()
