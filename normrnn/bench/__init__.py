"""Benchmark: normrnn's training step against NumPy, PyTorch and JAX, timed in one run.

A training step is the loss of one document and all of its gradients.  The
implementations timed side by side (:data:`LABELS`), in interleaved rounds:

===================  ========================================================
``normrnn``          :meth:`normrnn.NormRNN.loss_and_grads`, the fast BPTT
                     (:mod:`normrnn._kernels.bptt_gathered`: gathered matrix products)
``by_section``       the per-token Cython composition of the section kernels
                     (:mod:`normrnn._kernels.bptt_by_section`), the one to read
``numpy``            :func:`normrnn.reference.loss_and_grads`, a per-token
                     NumPy BPTT in the style of min-char-rnn
``torch``            the same model in PyTorch eager autograd, batched where
                     the maths allows (:func:`torch_loss`)
``torch_per_token``  the same, one token at a time (:func:`torch_loss_per_token`)
===================  ========================================================

plus a square matrix product (BLAS gemm) in the same rounds: the peak that
every implementation's FLOP rate is compared with.  One thread throughout,
except in the thread benchmark, which runs
:meth:`normrnn.NormRNN.batch_loss_and_grads` on 1 and 2 threads, and the
peers (:mod:`~normrnn.bench.peers`): normrnn's batches of B documents
against the strong peers a practitioner writes for this job (PyTorch eager
and ``torch.compile``, :mod:`~normrnn.bench.torch_peer`; JAX,
:mod:`~normrnn.bench.jax_peer`), each in a process of its own, on 1 and 2
threads, at its best B, with its time to first gradient.

Modules: :mod:`~normrnn.bench.implementations` (what is timed),
:mod:`~normrnn.bench.timing` (how), :mod:`~normrnn.bench.machine` (on what
CPU, at what vector level), :mod:`~normrnn.bench.experiments` (the step,
thread and scaling benchmarks), :mod:`~normrnn.bench.peers`,
:mod:`~normrnn.bench.footprint` (memory), :mod:`~normrnn.bench.phases`
(where the time of a batch goes, phase by phase), :mod:`~normrnn.bench.report`
(targets and the text report), :mod:`~normrnn.bench.plot` and
:mod:`~normrnn.bench.recorded` (reading a run kept in a file).  Nothing here
prints: ``normrnn bench`` (:mod:`normrnn.cli.bench`) is the one entry point,
and ``python benchmarks/record.py`` (in a clone) the one recorder.

Examples
--------
>>> from normrnn import bench
>>> results = bench.run_benchmark(quick=True)          # doctest: +SKIP
>>> print(bench.format_report(results))                # doctest: +SKIP
"""

from .implementations import (
    LABELS,
    flops_done,
    flops_done_per_token,
    flops_per_token,
    gemm_function,
    sequential_functions,
    step_functions,
    torch_available,
    torch_loss,
    torch_loss_per_token,
)
from .experiments import gain_benchmark, scaling_benchmark, step_benchmark, thread_benchmark
from .footprint import memory_benchmark
from .machine import machine_info
from .peers import PEER_LABELS, PEERS, STRONG, leads, peak_shares, peer_benchmark
from .phases import PHASES, peak_ceiling, phase_benchmark, products_rate_needed
from .plot import plot_phases, plot_results, plot_scaling, plot_step
from .recorded import describe_record, load_record
from .report import (
    FULL,
    QUICK,
    TARGETS,
    peer_choice,
    check_targets,
    format_report,
    jsonable,
    run_benchmark,
    scaling_options,
)
from .timing import one_thread, other_load, time_interleaved

__all__ = [
    "FULL", "LABELS", "PEERS", "PEER_LABELS", "QUICK", "STRONG", "TARGETS", "check_targets",
    "describe_record", "flops_done", "flops_done_per_token", "flops_per_token", "format_report",
    "gain_benchmark", "gemm_function", "jsonable", "leads", "load_record", "machine_info",
    "memory_benchmark", "one_thread", "other_load", "peak_ceiling", "peak_shares",
    "peer_benchmark", "peer_choice", "PHASES", "phase_benchmark", "plot_phases", "plot_results",
    "plot_scaling", "plot_step", "products_rate_needed", "run_benchmark", "scaling_benchmark",
    "scaling_options", "sequential_functions",
    "step_benchmark", "step_functions", "thread_benchmark", "time_interleaved",
    "torch_available", "torch_loss", "torch_loss_per_token",
]
