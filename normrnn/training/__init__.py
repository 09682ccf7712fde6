"""Training, checkpoints and sampling.

:class:`Trainer` runs minibatches of document streams with truncated BPTT
(:mod:`normrnn.training.streams`), one of the optimizers of
:mod:`normrnn.training.optimizers`, evaluation in bits per token
(:mod:`normrnn.training.evaluation`), n-gram baselines
(:mod:`normrnn.baselines`) and atomic, validated checkpoints
(:mod:`normrnn.training.checkpoint`).  :func:`sample` writes a text for a
title.  A library: it prints nothing and returns no exit status; the
``normrnn`` command around it is :mod:`normrnn.cli`.
"""

from ..baselines import NgramModel, ngram_bits_per_token
from .checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from .config import BUDGET_FIELDS, RESUMABLE_FIELDS, TrainConfig
from .evaluation import (Evaluation, bits_per_token, document_loss, evaluate,
                         unigram_bits_per_token, unigram_counts)
from .optimizers import (DEFAULT_LEARNING_RATES, OPTIMIZERS, SGD, Adagrad, Adam, Optimizer,
                         clip_grad_norm, make_optimizer)
from .sampling import prefix_state, sample
from .streams import chunk_bounds, chunk_title_length, segment_document
from .trainer import Trainer, TrainingDiverged, TrainResult

__all__ = [
    "Trainer", "TrainResult", "TrainingDiverged", "TrainConfig", "BUDGET_FIELDS", "RESUMABLE_FIELDS",
    "Checkpoint", "CheckpointError", "load_checkpoint", "save_checkpoint",
    "Evaluation", "bits_per_token", "document_loss", "evaluate",
    "unigram_counts", "unigram_bits_per_token", "NgramModel", "ngram_bits_per_token",
    "Optimizer", "SGD", "Adagrad", "Adam", "OPTIMIZERS", "DEFAULT_LEARNING_RATES",
    "make_optimizer", "clip_grad_norm",
    "chunk_bounds", "chunk_title_length",
    "segment_document", "sample", "prefix_state",
]
