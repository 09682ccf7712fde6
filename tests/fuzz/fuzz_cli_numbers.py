"""Property-based fuzzing of the command line's numeric options (run by test_fuzz.py).

Every numeric option of every command gets numbers of every kind: NaN,
infinities, huge, negative, zero, fractions, text that is not a number.  The
parser either refuses it (status 2, a usage line and one error line) or
yields a finite value in the option's range; the values that define a
training run then pass :class:`TrainConfig` and the memory check, or are
refused by it with a ``MemoryError`` naming the sizes.  Nothing trains: the
properties are checked on the parser and the validation layer, in-process.
"""

import contextlib
import io
import math
import pathlib
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(pathlib.Path(__file__).parents[1]))
from test_cli_numbers import FLAGS, FRACTION, NONNEGATIVE, POSITIVE, SAMPLE_COUNT

from normrnn import cli
from normrnn.training import TrainConfig
from normrnn.training.config import require_training_memory

SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

NUMBERS = st.one_of(
    st.sampled_from(["nan", "-nan", "inf", "-inf", "+inf", "infinity", "1e309", "-1e309",
                     "0", "-0", "0.0", "1", "-1", "1.0", "0.5", "1e-320", "5e-324",
                     "9" * 30, "-" + "9" * 30, "1e100", "10**12", "1_000", " 7 ", "0x1f",
                     "", " ", "abc", "1,5", "½", "٣", "1e", "--1", "+3"]),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(min_value=-1e6, max_value=1e6).map(str),
    st.text(max_size=12),
)

RUN_OPTIONS = {"--hidden": "hidden_size", "--batch-size": "batch_size", "--bptt": "bptt",
               "--segment": "segment", "--clip": "clip", "--valid-fraction": "valid_fraction",
               "--threads": "n_threads", "--eval-every": "eval_every", "--lr": "lr",
               "--minutes": "minutes", "--epochs": "epochs", "--max-steps": "max_steps",
               "--seed": "seed"}


def parse(argv):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            return 0, cli.build_parser().parse_args(argv), ""
        except SystemExit as exc:
            return exc.code, None, err.getvalue()


def in_range(value, kind):
    if not math.isfinite(value):
        return False
    return {POSITIVE: value > 0, NONNEGATIVE: value >= 0, FRACTION: 0 < value < 1,
            SAMPLE_COUNT: 0 <= value <= cli.MAX_SAMPLE_TOKENS}[kind]


@SETTINGS
@given(flag=st.sampled_from(FLAGS), text=NUMBERS)
def test_a_numeric_option_is_refused_or_finite_and_in_range(flag, text):
    before, option, kind = flag
    status, args, err = parse([*before, f"{option}={text}"])
    if status:
        lines = err.strip().splitlines()
        assert status == 2 and lines[0].startswith("usage: normrnn"), err
        assert lines[-1].startswith("normrnn") and f"argument {option}" in lines[-1], err
        assert "Traceback" not in err
        return
    value = getattr(args, option[2:].replace("-", "_"))
    assert in_range(value, kind), (option, text, value)


@SETTINGS
@given(option=st.sampled_from(sorted(RUN_OPTIONS)), text=NUMBERS,
       vocab=st.integers(min_value=4, max_value=2000))
def test_an_accepted_training_option_passes_validation_or_a_memory_check(option, text, vocab):
    status, args, _ = parse(["train", "DATA", "--out", "x.npz", f"{option}={text}"])
    if status:
        return
    value = getattr(args, option[2:].replace("-", "_"))
    config = TrainConfig(**{RUN_OPTIONS[option]: value})      # the parser's range is the config's
    try:
        require_training_memory(config, vocab)
    except MemoryError as exc:
        message = str(exc)
        assert "needs" in message and "is available" in message and "\n" not in message


@pytest.mark.parametrize("option", ["--hidden", "--batch-size", "--bptt", "--threads"])
def test_huge_sizes_are_refused_by_the_memory_check(option):
    status, args, _ = parse(["train", "DATA", "--out", "x.npz", f"{option}=10000000000000"])
    assert status == 0
    config = TrainConfig(**{RUN_OPTIONS[option]: getattr(args, option[2:].replace("-", "_"))})
    if option == "--threads":          # threads beyond the batch are never started
        config = TrainConfig(n_threads=10**13, batch_size=10**7)
    with pytest.raises(MemoryError, match="is available"):
        require_training_memory(config, 100)
