"""The training loop: minibatches of streams, budgets, evaluation, checkpoints.

A run stops at the first budget reached (epochs, minutes, steps) or when
asked to (:meth:`StopRequest.request
<normrnn.training.interrupt.StopRequest.request>` through ``trainer.stop``):
it then writes a checkpoint and returns, so ``--resume`` continues exactly
where it stopped.  The library installs no signal handler and prints
nothing: a Ctrl-C raises ``KeyboardInterrupt`` out of :meth:`Trainer.run`
within a second (the kernels look for it), leaving the last checkpoint as it
was; a caller that wants Ctrl-C, ``SIGTERM`` and ``SIGHUP`` to stop the run
cleanly instead runs it inside ``trainer.stop.on_signals()``, as the
``normrnn train`` command does.  A checkpoint that cannot be written to
``checkpoint_path`` (its folder gone or read-only, a full disk, a file that
is not a checkpoint put there meanwhile) is retried, then written to a
fallback path and reported (:mod:`normrnn.files.rescue`).  A
loss or gradient that is not finite raises :class:`TrainingDiverged` before
any parameter is touched, and an update that makes the parameters unusable
(non-finite, or so large that a row norm of ``hh`` overflows) is undone
(parameters and optimizer state restored) before it is raised; no checkpoint
is written after it, so the last good checkpoint stays intact.
"""

import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._printable import show_path
from ..data.corpus_setup import encode_corpus
from ..files.rescue import save_with_fallback
from ..model import NormRNN
from ..parallel import blas_threads
from .checkpoint import is_checkpoint, save_checkpoint
from .compute import chunks_loss_and_grads
from .config import require_training_memory
from .evaluation import bits_per_token, evaluate
from .interrupt import StopRequest
from .optimizers import clip_grad_norm, make_optimizer
from .state import TrainState
from .streams import DocumentStreams

__all__ = ["Trainer", "TrainResult", "TrainingDiverged"]


class TrainingDiverged(RuntimeError):
    """Training stopped on a non-finite loss or gradient, or an unusable update.

    The step was not applied (or was undone); the last checkpoint is intact.
    """


@dataclass
class TrainResult:
    """How a run ended.

    Attributes
    ----------
    reason : str
        ``"epochs"``, ``"minutes"``, ``"max_steps"`` or ``"interrupted"``.
    state : TrainState
        Steps, tokens, elapsed time and the loss history.
    train_bits, valid_bits : float
        The latest evaluation, in bits per token.
    unigram_bits : float
        The unigram baseline on the validation documents.
    tokens_per_second : float
        Scored training tokens per second in this session.
    """

    reason: str
    state: TrainState
    train_bits: float
    valid_bits: float
    unigram_bits: float
    tokens_per_second: float


def _progress_callback(progress):
    """``progress`` if it is a callable or None; ``False`` is None; anything else a TypeError."""
    if progress is None or progress is False:
        return None
    if not callable(progress):
        raise TypeError("progress must be a callable progress(step=, tokens=, train_bits=, "
                        f"valid_bits=) or None, got {progress!r}; the command line's bar is "
                        "normrnn.cli.progress.ProgressBar")
    return progress


def _longest(units):
    return max((len(tokens) for tokens, _ in units), default=1)


class Trainer:
    """Train a :class:`~normrnn.NormRNN` on documents.

    Build one with :meth:`new` or :meth:`resume`, then call :meth:`run`.

    Parameters
    ----------
    model, tokenizer, optimizer, config, corpus, state
        The parts of a run (see :meth:`new`).
    checkpoint_path : str or Path or None, optional
        Where to write checkpoints (at every evaluation and at the end).
    progress : callable or None, optional
        Called after every step, and once more after the run's last
        evaluation, as ``progress(step=step, tokens=tokens,
        train_bits=train_bits, valid_bits=valid_bits)``: the steps taken and
        the training tokens scored so far (a resumed run counts those of the
        checkpoint too), the running training loss in bits per token (an
        average over the last steps; ``None`` until a token is scored) and
        the validation loss of the run's latest evaluation (``None`` until
        one).  Its return value is ignored.  ``None`` (the default), or
        ``False``: the run reports nothing.  The ``normrnn train`` command
        passes its bar on stderr (:class:`normrnn.cli.progress.ProgressBar`).
    callback : callable or None, optional
        Called as ``callback(trainer)`` after every step.
    may_replace : callable or None, optional
        Which existing file at ``checkpoint_path`` a save may replace,
        asked at every save right before the rename; default
        :func:`~normrnn.training.checkpoint.is_checkpoint` (``None``: any).
    on_fallback : callable or None, optional
        ``on_fallback(outcome)`` with a
        :class:`~normrnn.files.rescue.SaveOutcome` when a checkpoint goes
        to a fallback path (once per new path); default: a ``RuntimeWarning``.

    Attributes
    ----------
    progress : callable or None
        As the parameter; it may be set before :meth:`run`.
    stop : StopRequest
        The run's stop flag: :meth:`StopRequest.request
        <normrnn.training.interrupt.StopRequest.request>` ends the run after
        the current step, and within ``trainer.stop.on_signals()`` Ctrl-C,
        ``SIGTERM`` and ``SIGHUP`` do (``trainer.stop.signum`` then tells which).
    saved_to : Path or None
        Where the last checkpoint was written (``checkpoint_path`` or a
        fallback path).
    """

    def __init__(self, model, tokenizer, optimizer, config, corpus, state, *,
                 checkpoint_path=None, progress=None, callback=None, may_replace=is_checkpoint,
                 on_fallback=None):
        self.model, self.tokenizer, self.optimizer = model, tokenizer, optimizer
        self.config, self.corpus, self.state = config, corpus, state
        self.checkpoint_path, self.callback = checkpoint_path, callback
        self.progress = _progress_callback(progress)
        self.may_replace, self.on_fallback = may_replace, on_fallback
        self.saved_to, self._fallback = None, None
        self.rng = np.random.default_rng()
        self.rng.bit_generator.state = state.rng_state
        self.streams = DocumentStreams(corpus.units, config.batch_size, config.bptt,
                                       config.hidden_size, model.dtype)
        self.stop = StopRequest()
        self._running_bits = self._valid_bits = None

    @classmethod
    def new(cls, documents, config, **kwargs):
        """Start a run: split, build the vocabulary, initialise model and optimizer.

        Parameters
        ----------
        documents : sequence of Document
        config : TrainConfig
        **kwargs
            ``checkpoint_path``, ``progress``, ``callback``.

        Returns
        -------
        Trainer

        Raises
        ------
        MemoryError
            Before anything of the model's size is allocated, when the run
            needs more memory than is available
            (:func:`~normrnn.training.config.training_memory`).
        """
        corpus, tokenizer = encode_corpus(documents, None, config)
        require_training_memory(config, tokenizer.vocab_size, _longest(corpus.units))
        model = NormRNN(tokenizer.vocab_size, config.hidden_size, seed=config.seed,
                        dtype=np.dtype(config.dtype), gain=config.gain)
        optimizer = make_optimizer(config.optimizer, model.parameters(), config.learning_rate)
        state = TrainState(rng_state=np.random.default_rng(config.seed).bit_generator.state)
        return cls(model, tokenizer, optimizer, config, corpus, state, **kwargs)

    @classmethod
    def resume(cls, checkpoint, documents, *, overrides=None, allow_new_corpus=False,
               **kwargs):
        """Continue the run saved in ``checkpoint`` on the same documents.

        Parameters
        ----------
        checkpoint : Checkpoint
            From :func:`~normrnn.training.checkpoint.load_checkpoint`.
        documents : sequence of Document
            The corpus of the original run: other documents (a different
            :func:`~normrnn.data.corpus_setup.corpus_fingerprint`) are
            refused unless ``allow_new_corpus``.  A checkpoint saved without
            a fingerprint (``""``) cannot tell: its run resumes unchecked.
        overrides : dict, optional
            New budget (``epochs``, ``minutes``, ``max_steps``: replaces the
            saved budget as a whole) or ``lr``; other fields only with their
            saved values (:meth:`TrainConfig.resumed
            <normrnn.training.config.TrainConfig.resumed>`).  Without a new
            ``lr`` the run continues bit for bit.
        allow_new_corpus : bool, optional
            Train on other documents: the model, optimizer, step count and
            history carry on, the vocabulary stays the checkpoint's (new
            characters are read as ``<unk>``), and the minibatch schedule
            starts afresh with a new epoch.
        **kwargs
            As in :meth:`new`.

        Returns
        -------
        Trainer

        Raises
        ------
        ValueError
            For an override that would change what defines the run, other
            documents without ``allow_new_corpus``, or a saved schedule that
            does not fit the documents.
        """
        config = checkpoint.config.resumed(overrides or {})
        checkpoint.optimizer.lr = config.learning_rate
        corpus, _ = encode_corpus(documents, checkpoint.tokenizer, config)
        new_corpus = bool(checkpoint.fingerprint) and corpus.fingerprint != checkpoint.fingerprint
        if new_corpus and not allow_new_corpus:
            raise ValueError("the documents differ from the corpus the checkpoint was trained "
                             "on; pass allow_new_corpus=True to train on them anyway")
        trainer = cls(checkpoint.model, checkpoint.tokenizer, checkpoint.optimizer, config,
                      corpus, checkpoint.state, **kwargs)
        if not new_corpus:               # a new corpus starts a new schedule
            trainer._restore_streams(checkpoint.streams)
        return trainer

    def _restore_streams(self, saved):
        n = len(self.corpus.units)
        order, doc = saved["order"], saved["doc"]
        if (len(order) not in (0, n) or np.any(order >= n) or np.any(order < 0)
                or np.any(doc >= n) or np.any(doc < -1)):
            raise ValueError(f"the checkpoint's minibatch schedule refers to {len(order)} "
                             f"training units, this corpus has {n}: not the same corpus")
        # a busy slot's next chunk starts inside its unit, before the last token
        for slot, (unit, pos) in enumerate(zip(doc, saved["pos"], strict=True)):
            if unit >= 0 and not pos < len(self.corpus.units[unit][0]) - 1:
                raise ValueError(f"the checkpoint's stream {slot} stands at position {pos} of "
                                 f"a training unit of {len(self.corpus.units[unit][0])} tokens: "
                                 "not the same corpus")
        self.streams.order, self.streams.next_index = order, saved["next_index"]
        self.streams.doc[...], self.streams.pos[...] = doc, saved["pos"]
        self.streams.carried[...] = saved["carried"]

    # --- the loop -----------------------------------------------------------------
    def _budget_reason(self):
        c, s = self.config, self.state
        if self.stop.requested:
            return "interrupted"
        if (c.epoch_budget is not None and s.epoch >= c.epoch_budget
                and self.streams.exhausted and self.streams.idle):
            return "epochs"
        if c.minutes is not None and s.elapsed >= 60.0 * c.minutes:
            return "minutes"
        if c.max_steps is not None and s.step >= c.max_steps:
            return "max_steps"
        return None

    def _start_epoch(self):
        self.streams.start_epoch(self.rng.permutation(len(self.corpus.units)))
        self.state.rng_state = self.rng.bit_generator.state

    def _diverged(self, what):
        if self.checkpoint_path is None:
            where = ""
        elif self.saved_to is not None or Path(self.checkpoint_path).exists():
            where = f"; the last good checkpoint is {show_path(self.saved_to or self.checkpoint_path)}"
        else:
            where = f"; no checkpoint had been written to {show_path(self.checkpoint_path)} yet"
        raise TrainingDiverged(f"{what} at step {self.state.step + 1}: the step was not "
                               f"applied{where}. Try a smaller --lr or --clip.")

    def step(self):
        """Take one optimizer step on the next minibatch of chunks."""
        chunks = self.streams.next_chunks()
        loss, grads, last_states, scored = chunks_loss_and_grads(
            self.model, chunks, self.config.n_threads)
        if not math.isfinite(loss):
            self._diverged(f"the loss is {loss}")
        if scored:
            for _, g in grads.items():
                g /= scored
            if not math.isfinite(clip_grad_norm(grads, self.config.clip)):
                self._diverged("the gradient is not finite")
            before = ({k: p.copy() for k, p in self.model.parameters().items()},
                      self.optimizer.state_dict())
            self.optimizer.step(grads)
            try:          # non-finite, or so large that a row norm of hh overflows
                self.model.check_parameters()
            except ValueError as exc:
                for name, p in self.model.parameters().items():   # undo the step
                    p[...] = before[0][name]
                self.optimizer.load_state_dict(before[1])
                self._diverged(f"the update made the parameters unusable ({exc})")
        self.streams.advance(chunks, last_states)
        self.state.step += 1
        self.state.tokens += scored
        bits = bits_per_token(loss, scored)
        h = self.state.history
        h.steps.append(self.state.step), h.tokens.append(self.state.tokens), h.bits.append(bits)
        if scored:
            r = self._running_bits
            self._running_bits = bits if r is None else 0.9 * r + 0.1 * bits

    def evaluate(self):
        """Measure and record the training-subset and validation loss.

        A stop request (:attr:`stop`: :meth:`StopRequest.request
        <normrnn.training.interrupt.StopRequest.request>`, or a signal within
        ``trainer.stop.on_signals()``) ends it early: nothing is recorded and
        ``None`` is returned.

        Returns
        -------
        (train_bits, valid_bits) or None
        """
        n, stop = self.config.n_threads, self.stop.event
        train = evaluate(self.model, self.corpus.train_subset, n_threads=n, stop=stop)
        valid = evaluate(self.model, self.corpus.valid, n_threads=n, stop=stop)
        if train is None or valid is None:
            return None
        train, valid = train.bits_per_token, valid.bits_per_token
        done = self.streams.next_index / max(len(self.streams.order), 1)
        epoch = self.state.epoch + (0.0 if self.streams.exhausted else done)
        self.state.history.evals.append((self.state.step, epoch, train, valid))
        return train, valid

    def _write(self, path, may_replace):
        save_checkpoint(path, model=self.model, tokenizer=self.tokenizer, config=self.config,
                        optimizer=self.optimizer, state=self.state, streams=self.streams,
                        unigram=self.corpus.unigram, fingerprint=self.corpus.fingerprint,
                        may_replace=may_replace)

    def save(self):
        """Write a checkpoint to ``checkpoint_path`` (if set), or to a fallback path.

        Returns
        -------
        SaveOutcome or None
            Where it went (:func:`~normrnn.files.rescue.save_with_fallback`).

        Raises
        ------
        SaveFailed
            Nowhere could be written.
        """
        if self.checkpoint_path is None:
            return None
        outcome = save_with_fallback(self._write, self.checkpoint_path,
                                     may_replace=self.may_replace, previous=self._fallback)
        if outcome.fell_back and outcome.path != self._fallback:
            self._fallback = outcome.path
            if self.on_fallback is not None:
                self.on_fallback(outcome)
            else:
                warnings.warn(f"could not write the checkpoint {self.checkpoint_path} "
                              f"({outcome.reason}); it was saved to {outcome.path}",
                              RuntimeWarning, stacklevel=2)
        self.saved_to = outcome.path
        return outcome

    def _needs_epoch(self):
        """Whether to draw a new epoch's order before the next step."""
        budget = self.config.epoch_budget
        return self.streams.exhausted and (budget is None or self.state.epoch < budget)

    def _after_step(self, was_exhausted):
        epoch_done = self.streams.exhausted and not was_exhausted
        if epoch_done:
            self.state.epoch += 1
        if epoch_done or self.state.step % self.config.eval_every == 0:
            self._evaluate_and_keep()
            self.save()

    def _evaluate_and_keep(self):
        bits = self.evaluate()
        if bits is not None:
            self._valid_bits = bits[1]

    def _report(self):
        if self.progress is not None:
            self.progress(step=self.state.step, tokens=self.state.tokens,
                          train_bits=self._running_bits, valid_bits=self._valid_bits)

    def run(self):
        """Train until a budget is reached or a stop is requested; return a :class:`TrainResult`.

        A stop requested through :attr:`stop` (by :meth:`StopRequest.request
        <normrnn.training.interrupt.StopRequest.request>`, or by a signal
        within ``trainer.stop.on_signals()``) ends the run after the current
        step, with a checkpoint and ``reason="interrupted"``.  No signal
        handler is installed here: outside ``on_signals`` a Ctrl-C raises
        ``KeyboardInterrupt`` and the last checkpoint stays as it was.
        """
        start, base, first_tokens = time.perf_counter(), self.state.elapsed, self.state.tokens
        # parallel over documents: BLAS threads would only compete with them
        # (normrnn.parallel's policy; the optimizer's array updates are small too)
        with blas_threads(1):
            while (reason := self._budget_reason()) is None:
                if self._needs_epoch():
                    self._start_epoch()
                was_exhausted = self.streams.exhausted
                self.step()
                self._after_step(was_exhausted)
                self.state.elapsed = base + time.perf_counter() - start
                self._report()
                if self.callback is not None:
                    self.callback(self)
            if reason != "interrupted" and (self.state.history.last_eval is None or
                                            self.state.history.last_eval[0] != self.state.step):
                self._evaluate_and_keep()
                self._report()
            self.save()
        seconds = time.perf_counter() - start
        last = self.state.history.last_eval or (0, 0, math.nan, math.nan)
        return TrainResult(reason, self.state, last[2], last[3], self.corpus.unigram_bits,
                           (self.state.tokens - first_tokens) / seconds if seconds else 0.0)
