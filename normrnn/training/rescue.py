"""Moved to :mod:`normrnn.files.rescue`; this name warns and will be removed in the next release."""

import sys
import warnings

from ..files import rescue as _moved

warnings.warn("normrnn.training.rescue is now normrnn.files.rescue; the old name will be removed "
              "in the next release", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _moved
