"""Shared fixtures: small models of odd sizes, so no bug hides behind V == H."""

import os

import pytest
from helpers import make_model


@pytest.fixture
def model():
    return make_model()


# An unexpected error inside an in-process ``cli.main`` call re-raises (with its
# traceback) instead of being reduced to one line by the command's safety net:
# the net must never hide a bug from the tests.  Subprocesses inherit it too;
# tests of the net itself remove it.
os.environ["NORMRNN_TRACEBACK"] = "1"
