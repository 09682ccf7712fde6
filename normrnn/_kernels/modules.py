"""The compiled modules of :mod:`normrnn._kernels`: ``NAME.pyx`` beside this file, each.

The one list of them: ``setup.py`` reads this file by its path (it builds the
modules, so it cannot import :mod:`normrnn`), and the package's
``__init__`` checks that each is built.  Plain Python, importing nothing.
"""

MODULES = (
    "section_kernels",      # one kernel per section of the backward pass
    "bptt_by_section",      # whole-document BPTT composed of those kernels: to read
    "bptt_gathered",        # the fast whole-document BPTT the model runs
    "lockstep",             # a batch of documents in lockstep
    "matvec_probe",         # matvec.h's product alone, for the tests and benchmarks
    "pointwise_probe",      # each level of pointwise.h (f, f', softmax), for the tests
)
