"""Every numeric option of every command refuses NaN, infinities and out-of-range values.

In the parser, with argparse's usage line and one error line (status 2),
before anything runs.  The whole grid runs in-process (parsing only); one
case per option also runs as a real ``normrnn`` process.
"""

import math

import pytest
from _cli import assert_user_error, run_cli

from normrnn import cli

# (command line before the option, option, what it must be)
POSITIVE, NONNEGATIVE, FRACTION, SAMPLE_COUNT = "positive", "non-negative", "fraction", "count"
FLAGS = [
    (["demo"], "--minutes", POSITIVE), (["demo"], "--hidden", POSITIVE),
    (["demo"], "--seed", NONNEGATIVE), (["demo"], "--threads", POSITIVE),
    *[(["train", "DATA", "--out", "x.npz"], flag, kind) for flag, kind in [
        ("--epochs", POSITIVE), ("--minutes", POSITIVE), ("--max-steps", POSITIVE),
        ("--hidden", POSITIVE), ("--lr", POSITIVE), ("--seed", NONNEGATIVE),
        ("--batch-size", POSITIVE), ("--bptt", POSITIVE), ("--segment", POSITIVE),
        ("--clip", POSITIVE), ("--valid-fraction", FRACTION), ("--threads", POSITIVE),
        ("--eval-every", POSITIVE)]],
    (["evaluate", "CKPT", "DATA"], "--threads", POSITIVE),
    (["sample", "CKPT", "--title", "t"], "--max-tokens", SAMPLE_COUNT),
    (["sample", "CKPT", "--title", "t"], "--temperature", POSITIVE),
    (["sample", "CKPT", "--title", "t"], "--seed", NONNEGATIVE),
]
ALWAYS_BAD = ["nan", "NaN", "inf", "-inf", "Infinity", "-1", "abc", "", "1e999", "0x10"]
BAD = {POSITIVE: ALWAYS_BAD + ["0", "-0.0"], NONNEGATIVE: ALWAYS_BAD + ["-5"],
       FRACTION: ALWAYS_BAD + ["0", "1", "1.5"], SAMPLE_COUNT: ALWAYS_BAD + ["1000001", "10**12"]}
CASES = [(before, flag, value) for before, flag, kind in FLAGS for value in BAD[kind]]


def parse(argv):
    return cli.build_parser().parse_args(argv)


@pytest.mark.parametrize("before, flag, value", CASES,
                         ids=[f"{b[0]}{f}={v}" for b, f, v in CASES])
def test_the_parser_refuses(capsys, before, flag, value):
    with pytest.raises(SystemExit) as info:
        parse([*before, f"{flag}={value}"])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("usage: normrnn") and f"argument {flag}" in err[-1]


@pytest.mark.parametrize("before, flag, kind", FLAGS, ids=[f"{b[0]}{f}" for b, f, _ in FLAGS])
def test_finite_values_in_range_pass(before, flag, kind):
    value = {POSITIVE: "3", NONNEGATIVE: "0", FRACTION: "0.25", SAMPLE_COUNT: "1000000"}[kind]
    args = parse([*before, f"{flag}={value}"])
    got = getattr(args, flag[2:].replace("-", "_"))
    assert math.isfinite(got) and got == float(value)


IN_A_PROCESS = [FLAGS[0], FLAGS[8], FLAGS[14], FLAGS[17], FLAGS[18], FLAGS[19]]


@pytest.mark.parametrize("before, flag, kind", IN_A_PROCESS,
                         ids=[f"{b[0]}{f}" for b, f, _ in IN_A_PROCESS])
def test_in_a_real_process(tmp_path, before, flag, kind):
    value = {POSITIVE: "inf", NONNEGATIVE: "nan", FRACTION: "1.5", SAMPLE_COUNT: "10000000"}[kind]
    before = [str(tmp_path / "x") if a in ("DATA", "CKPT") else a for a in before]
    assert_user_error(run_cli(*before, f"{flag}={value}"), 2, contains=[flag])


def test_the_sample_cap_is_stated():
    assert f"{cli.MAX_SAMPLE_TOKENS:,}" in cli.build_parser()._subparsers._group_actions[0] \
        .choices["sample"].format_help()
