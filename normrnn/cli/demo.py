"""``normrnn demo``: gradient checks, a short training run, samples and a loss plot."""

import sys
import textwrap
import time
from pathlib import Path

import numpy as np

from .._printable import show_path
from ..data.default_corpus import default_corpus
from ..data.tokenizer import CharTokenizer
from ..training.config import TrainConfig, default_threads, require_training_memory
from ..training.evaluation import evaluate
from ..baselines import ngram_bits_per_token
from ..training.sampling import prefix_state, sample
from ..training.checkpoint import is_checkpoint
from ..training.trainer import Trainer
from .messages import USAGE, fail, warn
from .options import NONNEG_INT, POS_FLOAT, POS_INT
from .training_run import run_trainer

__all__ = ["HELP", "DEMO_TITLES", "DEMO_STEPS", "configure", "run", "run_demo"]

HELP = "check the gradients, train on the built-in corpus, sample, plot"

#: Titles the demo writes texts for (standard-library names, as in the corpus).
DEMO_TITLES = ("json.dumps", "heapq", "textwrap.dedent")

#: The demo's model and optimizer: small enough to learn visibly in a minute.
DEMO_CONFIG = {"hidden_size": 48, "optimizer": "adam", "lr": 0.02, "batch_size": 32,
               "eval_every": 100}

#: The demo's training budget in optimizer steps: about a minute on two idle cores.
DEMO_STEPS = 8000


def configure(p):
    """Add the arguments of ``normrnn demo`` to the parser ``p``."""
    p.add_argument("--out", default="normrnn-demo-loss.png", type=Path,
                   help="where to write the loss plot (default: %(default)s)")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=POS_INT, default=DEMO_STEPS,
                        help="optimizer steps to train: the same numbers and samples on "
                        "every run on this machine; about a minute on two idle cores "
                        "(default: %(default)s)")
    budget.add_argument("--minutes", type=POS_FLOAT, default=None,
                        help="train for this long instead of --steps: the results then "
                        "depend on the machine's speed and load")
    p.add_argument("--hidden", type=POS_INT, default=None, help="hidden size (default: demo's)")
    p.add_argument("--gain", choices=["fixed", "learned"], default="fixed",
                   help="row scale of S: fixed 1/H, or learned per row (default: %(default)s)")
    p.add_argument("--seed", type=NONNEG_INT, default=0, help="random seed (default: %(default)s)")
    p.add_argument("--threads", type=POS_INT, default=None, help="threads (default: up to 2)")
    p.add_argument("--checkpoint", type=Path, default=None,
                   help="also save the trained model here, for `normrnn sample`")
    p.add_argument("--force", action="store_true",
                   help="replace an existing --out that is not a plot normrnn made, or "
                   "--checkpoint that is not a normrnn checkpoint")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def run(args):
    """Run ``normrnn demo``; return the exit status."""
    steps = None if args.minutes is not None else args.steps    # --minutes replaces it
    return run_demo(plot_path=args.out, steps=steps, minutes=args.minutes,
                    hidden_size=args.hidden,
                    seed=args.seed, n_threads=args.threads, checkpoint_path=args.checkpoint,
                    progress=not args.no_progress, force=args.force, gain=args.gain)


def _heading(text, out):
    print(f"\n== {text} ==", file=out, flush=True)


def _gradient_checks(out):
    from ..gradcheck import check_all, format_table
    _heading("1. Gradient check of every backward section (float64, central differences)", out)
    rows = check_all(dtype=np.float64)
    print(format_table(rows), file=out, flush=True)
    return all(row.passed for row in rows)


def _train(config, checkpoint_path, progress, out, force=False):
    _heading("2. Training on the embedded corpus (standard-library docstrings)", out)
    documents = default_corpus()
    trainer = Trainer.new(documents, config, checkpoint_path=checkpoint_path,
                          may_replace=None if force else is_checkpoint,
                          on_fallback=lambda o: warn(
                              f"--checkpoint {checkpoint_path} could not be written "
                              f"({o.reason}); the model was saved to {o.path} instead"))
    print(f"{len(documents)} documents, {sum(len(d.text) for d in documents)} characters, "
          f"vocabulary of {trainer.tokenizer.vocab_size} tokens; hidden size "
          f"{config.hidden_size}, {config.optimizer} lr {config.learning_rate}, "
          f"{_budget_text(config)} on {config.n_threads} thread(s)", file=out, flush=True)
    result = run_trainer(trainer, progress=progress)
    first = result.state.history.evals[0]
    print(f"{result.state.step} steps, {result.state.tokens} tokens, "
          f"{result.tokens_per_second:.0f} tokens/s", file=out)
    bigram = ngram_bits_per_token(trainer.corpus.train, trainer.corpus.valid, 2,
                                  trainer.tokenizer.vocab_size)
    print(f"validation loss: {first[3]:.3f} bits/token after step {first[0]:.0f}, "
          f"{result.valid_bits:.3f} at the end (training {result.train_bits:.3f}); "
          f"baselines on the same documents: unigram {result.unigram_bits:.3f}, "
          f"bigram {bigram:.3f} (Kneser-Ney)", file=out, flush=True)
    return trainer, result, bigram


def _budget_text(config):
    """The demo's training budget in words."""
    if config.max_steps is not None and config.minutes is not None:
        return f"{config.max_steps} steps or {config.minutes} min, whichever ends first"
    if config.minutes is not None:
        return f"{config.minutes} min (a time budget: results vary with the machine's speed)"
    return f"{config.max_steps} steps"


def _without_recurrence(model):
    """A copy of ``model`` whose S is zero: a learned gain of 0 on every row."""
    copy = model.copy()
    copy.gain = np.zeros(model.hidden_size, dtype=model.dtype)
    return copy


def _recurrence_worth(trainer, result, out):
    """Measure what S carries: the validation loss with S zeroed, against the model's."""
    _heading("3. What the recurrence carries", out)
    zeroed = evaluate(_without_recurrence(trainer.model), trainer.corpus.valid,
                      n_threads=trainer.config.n_threads).bits_per_token
    worth = zeroed - result.valid_bits
    model = trainer.model
    if model.gain is None:
        how = (f"every row of S has norm 1/H = {1 / model.hidden_size:.4f} (gain fixed, "
               "as in the notes).  A learned gain per row, weight normalisation, lets the "
               "model choose each row's norm: measure what it buys with `normrnn demo --gain "
               "learned` (same budget and seed), or train with `normrnn train DATA --gain "
               "learned`.")
    else:
        norms = np.abs(model.gain)
        how = (f"the learned gains put the rows of S at norms {norms.min():.3f} to "
               f"{norms.max():.3f} (median {np.median(norms):.3f}; the notes fix them at "
               f"1/H = {1 / model.hidden_size:.4f}): compare with `normrnn demo`, gain "
               "fixed, same budget and seed.")
    note = (f"Validation loss with S zeroed (the state sees only the last character): "
            f"{zeroed:.3f} bits/token, against {result.valid_bits:.3f} with it: the "
            f"recurrence is worth {worth:.3f} bits/token in this run.  Here {how}")
    print(textwrap.fill(note, width=88), file=out, flush=True)


def _samples(trainer, seed, out):
    _heading("4. Samples (temperature 0.7, at most 300 characters)", out)
    for i, title in enumerate(DEMO_TITLES):
        text = sample(trainer.model, trainer.tokenizer, title, max_tokens=300,
                      temperature=0.7, seed=seed + i)
        print(f"--- title {title!r} (seed {seed + i})\n{text}", file=out, flush=True)
    _title_influence(trainer.model, trainer.tokenizer, out)


def _title_influence(model, tokenizer, out):
    """Say how much the title moves the first character, and why so little."""
    first = [model.probabilities(prefix_state(model, tokenizer.encode_title(t)))
             for t in DEMO_TITLES]
    tv = max(0.5 * np.abs(p - q).sum() for p in first for q in first)
    H = model.hidden_size
    S = model.scaled_hh()
    bound = (f"at most 1/sqrt(H) = {1 / np.sqrt(H):.3f} by construction" if model.gain is None
             else f"at most ||gamma|| = {np.linalg.norm(model.gain):.3f}, the learned gains' norm")
    note = (f"How much does the title matter?  The first character's distribution differs "
            f"by at most {tv:.3f} (total variation) between these titles.  The past reaches "
            f"the state only through S, whose spectral norm is {np.linalg.norm(S, 2):.3f} "
            f"({bound}), and |f'| <= 1: with every character read, the title's effect on "
            "the state is multiplied by at most that norm.")
    print("\n" + textwrap.fill(note, width=88), file=out, flush=True)


def run_demo(*, plot_path="normrnn-demo-loss.png", steps=None, minutes=None, hidden_size=None,
             seed=0, n_threads=None, checkpoint_path=None, progress=True, out=None,
             force=False, gain="fixed"):
    """Check gradients, train on the embedded corpus, sample, plot; return the exit status.

    Parameters
    ----------
    plot_path : str or Path, optional
        Where to write the loss plot (PNG).
    steps : int or None, optional
        Optimizer steps to train (default :data:`DEMO_STEPS`, unless
        ``minutes`` is given).  A step budget makes the run repeatable: the
        same arguments give the same numbers and samples on the same machine.
    minutes : float or None, optional
        A time budget instead of ``steps``; what is learnt then depends on
        the machine's speed and load.
    hidden_size : int or None, optional
        Default: :data:`DEMO_CONFIG`'s.
    seed : int, optional
        Seeds the weights, the split, the shuffling and the samples.
    n_threads : int or None, optional
        Default: up to 2.
    checkpoint_path : str or Path or None, optional
        Also save the trained model there.
    progress : bool, optional
        Show the progress bar (on stderr).
    out : file, optional
        Where to print (default ``sys.stdout``).
    force : bool, optional
        Replace an existing ``plot_path`` that is not a plot normrnn made,
        or ``checkpoint_path`` that is not a checkpoint.
    gain : {"fixed", "learned"}, optional
        The model's row scale of S (:class:`~normrnn.NormRNN`).

    Returns
    -------
    int
        0, 1 if a gradient check failed, 2 if an output path cannot be used
        (:func:`~normrnn.cli.outputs.check_outputs`, before any work).
    """
    from .outputs import Output, OutputError, check_outputs   # matplotlib: imported when run
    from .plotting import plot_loss_curve, run_title
    out = sys.stdout if out is None else out
    outputs = [Output(Path(plot_path), "plot", "--out")]
    if checkpoint_path is not None:
        outputs.append(Output(Path(checkpoint_path), "checkpoint", "--checkpoint"))
    try:
        check_outputs(outputs, force=force)
    except OutputError as exc:
        return fail(exc, USAGE)
    start = time.perf_counter()
    if minutes is None and steps is None:
        steps = DEMO_STEPS
    settings = dict(DEMO_CONFIG, minutes=minutes, max_steps=steps, seed=seed, gain=gain,
                    n_threads=n_threads or default_threads())
    if hidden_size is not None:
        settings["hidden_size"] = hidden_size
    config = TrainConfig(**settings)
    # refused now, not after the gradient checks
    require_training_memory(config, CharTokenizer.from_documents(default_corpus()).vocab_size)
    checks_passed = _gradient_checks(out)
    trainer, result, bigram = _train(config, checkpoint_path, progress, out, force)
    _recurrence_worth(trainer, result, out)
    _samples(trainer, seed, out)
    _heading("5. Loss curve", out)
    path = plot_loss_curve(result.state.history, plot_path, unigram_bits=result.unigram_bits,
                           bigram_bits=bigram,
                           title=run_title("normrnn demo", "standard-library docstrings",
                                           config.hidden_size, config.gain), force=force)
    print(f"loss plot written to {show_path(path)}", file=out)
    if checkpoint_path is not None:
        shown = show_path(trainer.saved_to)
        print(f"model saved to {shown}; try: normrnn sample {shown} "
              f"--title json.loads", file=out)
    print(f"demo finished in {time.perf_counter() - start:.0f} s", file=out)
    if not checks_passed:
        print("some gradient checks FAILED (see the table above)", file=out)
    return 0 if checks_passed else 1
