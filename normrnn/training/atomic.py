"""Moved to :mod:`normrnn.files.atomic`; this name warns and will be removed in the next release."""

import sys
import warnings

from ..files import atomic as _moved

warnings.warn("normrnn.training.atomic is now normrnn.files.atomic; the old name will be removed "
              "in the next release", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _moved
