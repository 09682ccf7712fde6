"""Moved to :mod:`normrnn.files.output_lock`; this name warns and will be removed in the next release."""

import sys
import warnings

from ..files import output_lock as _moved

warnings.warn("normrnn.training.output_lock is now normrnn.files.output_lock; the old name will be removed "
              "in the next release", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _moved
