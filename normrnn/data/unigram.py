"""Moved to :mod:`normrnn.baselines`; this name warns and will be removed in the next release."""

import sys
import warnings

from .. import baselines as _moved

warnings.warn("normrnn.data.unigram is now normrnn.baselines; the old name will be removed in the "
              "next release", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _moved
