"""Moved to :mod:`normrnn.exercises.pytest_api`; this name warns and will be removed in the next release."""

import sys
import warnings

from .exercises import pytest_api as _moved

warnings.warn("normrnn.testing is now normrnn.exercises.pytest_api; the old name will be "
              "removed in the next release", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _moved
