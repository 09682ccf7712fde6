"""The per-number kernels of a step (``normrnn/_kernels/pointwise.h``), every level.

f and f' over arrays, the softmax's exp, and the softmax cross-entropy run
in the vector registers of the widest level the CPU offers.  Each level
this CPU runs is checked here:

* f and f' give exactly the bits NumPy gives for the same formula, in the
  same precision (no multiply-add is fused, so every operation rounds once,
  as NumPy's do): the tolerance is zero;
* exp is within 1 unit in the last place of the exact value (NumPy's exp
  in long double, 64-bit significand, is the reference: its own error is
  below 1e-9 of a float64 ulp), on a dense grid of the range the softmax
  uses, x <= 0; below ln of the smallest normal number it gives 0;
* every level gives the same bits as every other, for arrays of every
  length around the vector widths (the padded tail included);
* the softmax cross-entropy agrees with the float64 NumPy reference to
  float64 rounding (1e-13) or float32 rounding (1e-6).

A level this CPU cannot run is skipped with a reason naming the missing
flags (see tests/test_kernel_choice.py).
"""

import ctypes
import subprocess

import numpy as np
import pytest

from normrnn import reference
from normrnn._kernels import pointwise_probe as probe

from test_kernel_choice import _skip_unless_runs
from test_matvec import HEADER_DIR, MARCHES, _missing_flags

VARIANTS = probe.variants()
LENGTHS = [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 96, 97, 128, 1000]
DTYPES = [np.float64, np.float32]
LOG_SMALLEST_NORMAL = {np.float64: -708.3964185322641, np.float32: -87.33654475}


def _runs(variant):
    index, name, level = variant
    _skip_unless_runs(f"pointwise.h's {name}", level)
    return index


def _ulps(got, dtype):
    """|got - exp(x)| in units in the last place of exp(x), against a long-double exp."""
    return lambda x: (np.abs(got.astype(np.longdouble) - np.exp(x.astype(np.longdouble)))
                      / np.spacing(np.exp(x.astype(np.longdouble)).astype(dtype)))


def test_a_level_runs_here():
    # the widest level this CPU runs is among the variants, and level 1 always runs
    levels = [level for _, _, level in VARIANTS]
    assert probe.cpu_level() in levels or probe.cpu_level() == 0 and levels == [0]


@pytest.mark.parametrize("variant", VARIANTS, ids=[name for _, name, _ in VARIANTS])
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_f_and_f_grad_are_the_formula_bit_for_bit(variant, dtype):
    index = _runs(variant)
    rng = np.random.default_rng(0)
    for n in LENGTHS:
        a = np.concatenate([rng.standard_normal(n // 2) * 3,
                            rng.standard_normal(n - n // 2) * 1e4]).astype(dtype)
        one, two = dtype(1), dtype(2)
        s = np.full(n, np.nan, dtype=dtype)
        probe.activate(a, s, index)
        np.testing.assert_array_equal(s, one - one / (a * a + a + one))
        # the forward's f and f' from one division: f(a) into s2, f'(a) over a2
        r = one / (a * a + a + one)
        a2, s2 = a.copy(), np.full(n, np.nan, dtype=dtype)
        probe.activate_and_grad(a2, s2, index)
        np.testing.assert_array_equal(s2, s)                   # the same f as activate
        np.testing.assert_array_equal(a2, (two * (a * r) + r) * r)


def test_f_and_f_grad_match_the_reference():
    # the formula above is the reference's f and f'
    a = np.linspace(-30, 30, 1001)
    s = np.empty_like(a)
    probe.activate(a, s, VARIANTS[-1][0])
    np.testing.assert_allclose(s, reference.activation(a), rtol=1e-15, atol=0)
    # f' = (2 (a r) + r) r against the reference's (2a + 1) / q^2: the same value
    # up to a few roundings, each within eps of the terms it adds (2 a r and r
    # cancel near a = -1/2, where f' is 0), so the bound scales with them
    g = a.copy()
    probe.activate_and_grad(g, s, VARIANTS[-1][0])
    r = 1 / (a * a + a + 1)
    bound = 4 * np.finfo(np.float64).eps * (np.abs(2 * a * r) + r) * r
    assert np.all(np.abs(g - reference.activation_grad(a)) <= bound)


@pytest.mark.parametrize("variant", VARIANTS, ids=[name for _, name, _ in VARIANTS])
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_exp_within_one_ulp(variant, dtype):
    if np.finfo(np.longdouble).eps > 1e-18:
        pytest.skip("long double here is no wider than float64: no exact reference for exp")
    index = _runs(variant)
    lo = LOG_SMALLEST_NORMAL[dtype]
    x = np.concatenate([np.linspace(lo, 0, 1_000_001),
                        -np.geomspace(np.finfo(dtype).tiny, 1, 10_001),
                        [0.0, -0.0, lo]]).astype(dtype)
    y = x.copy()
    probe.exp(y, index)
    assert _ulps(y, dtype)(x).max() <= 1
    assert y[-3] == 1 and y[-2] == 1


@pytest.mark.parametrize("variant", VARIANTS, ids=[name for _, name, _ in VARIANTS])
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_exp_below_the_normal_range_and_nan(variant, dtype):
    index = _runs(variant)
    lo = LOG_SMALLEST_NORMAL[dtype]
    x = np.array([lo * 1.0001, 2 * lo, -1e30, -np.inf, np.nan, -np.finfo(dtype).max], dtype=dtype)
    probe.exp(x, index)
    np.testing.assert_array_equal(x, [0, 0, 0, 0, np.nan, 0])


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_every_level_gives_the_same_bits(dtype):
    runs = [v for v in VARIANTS if v[2] <= probe.cpu_level() or probe.cpu_level() == 0]
    rng = np.random.default_rng(1)
    for n in LENGTHS[1:]:
        z = (rng.standard_normal(n) * 20).astype(dtype)
        a = (rng.standard_normal(n) * 3).astype(dtype)
        token = int(rng.integers(n))
        results = []
        for index, _, _ in runs:
            e, dz, s = -np.abs(z), z.copy(), np.empty_like(a)
            g, s2 = a.copy(), np.empty_like(a)
            probe.exp(e, index)
            loss = probe.softmax_cross_entropy(dz, token, index)
            probe.activate(a, s, index)
            probe.activate_and_grad(g, s2, index)
            results.append((e, dz, s, s2, g, loss))
        for other in results[1:]:
            for x, y in zip(results[0], other):
                np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("variant", VARIANTS, ids=[name for _, name, _ in VARIANTS])
@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-13), (np.float32, 1e-6)],
                         ids=["float64", "float32"])
def test_softmax_cross_entropy_matches_the_reference(variant, dtype, rtol):
    index = _runs(variant)
    rng = np.random.default_rng(2)
    for n in LENGTHS[1:]:
        for scale in (0.1, 10, 300):
            z = (rng.standard_normal(n) * scale).astype(dtype)
            token = int(rng.integers(n))
            z64 = z.astype(np.float64)
            e = np.exp(z64 - z64.max())
            expected_loss = (z64.max() - z64[token]) + np.log(e.sum())
            expected = e / e.sum()
            expected[token] -= 1
            loss = probe.softmax_cross_entropy(z, token, index)
            assert loss == pytest.approx(expected_loss, rel=rtol, abs=rtol)
            # dz in [-1, 1]: absolute error of the kernel's precision
            np.testing.assert_allclose(z, expected, rtol=0, atol=4 * np.finfo(dtype).eps)


@pytest.mark.parametrize("variant", VARIANTS, ids=[name for _, name, _ in VARIANTS])
def test_softmax_finds_the_maximum_wherever_it_is(variant):
    # the maximum in a vector, in the padded tail, or first; ties; all equal
    index = _runs(variant)
    for n in LENGTHS[1:]:
        for where in sorted({0, n // 2, n - 1}):
            z = np.linspace(-5, 0, n) - 40.0
            z[where] = 700.0                       # exp(z - 700) underflows for the rest
            loss = probe.softmax_cross_entropy(z, where, index)
            assert loss == 0.0
            assert z[where] == 0.0 and np.all(np.delete(z, where) == 0.0)
        z = np.full(n, 3.0)
        loss = probe.softmax_cross_entropy(z, n - 1, index)
        assert loss == pytest.approx(np.log(n), rel=1e-15)


# --- each -march on its own, without levels ----------------------------------
# A build for one -march (NORMRNN_NO_CLONES, as on a CPU other than x86-64)
# takes the header's other branch: one set of functions at that -march's
# width.  It must give the bits the levels give.

HARNESS = """
#include "pointwise.h"
void activate_d(int n, const double *a, double *s) { normrnn_activate_d(n, a, s); }
void activate_f(int n, const float *a, float *s) { normrnn_activate_f(n, a, s); }
void activate_and_grad_d(int n, double *a, double *s) { normrnn_activate_and_grad_d(n, a, s); }
void activate_and_grad_f(int n, float *a, float *s) { normrnn_activate_and_grad_f(n, a, s); }
double softmax_d(int n, double *z, int token) { return normrnn_softmax_xent_d(n, z, token); }
double softmax_f(int n, float *z, int token) { return normrnn_softmax_xent_f(n, z, token); }
"""


@pytest.mark.parametrize("march", MARCHES)
def test_a_build_for_one_march_gives_the_same_bits(march, compiler, tmp_path):
    if _missing_flags(march):
        pytest.skip(f"this CPU lacks {', '.join(_missing_flags(march))}: the {march} "
                    "build is not tested here")
    source, library = tmp_path / "harness.c", tmp_path / f"pointwise-{march}.so"
    source.write_text(HARNESS)
    subprocess.run([compiler, "-O3", f"-march={march}", "-DNORMRNN_NO_CLONES", "-shared",
                    "-fPIC", f"-I{HEADER_DIR}", str(source), "-o", str(library), "-lm"],
                   check=True)
    lib = ctypes.CDLL(str(library))
    lib.softmax_d.restype = ctypes.c_double
    lib.softmax_f.restype = ctypes.c_double
    widest = VARIANTS[0][0] if probe.cpu_level() >= VARIANTS[0][2] else VARIANTS[-1][0]
    rng = np.random.default_rng(3)

    def pointer(array):
        return array.ctypes.data_as(ctypes.c_void_p)

    for dtype, c in ((np.float64, "d"), (np.float32, "f")):
        for n in LENGTHS[1:]:
            a = (rng.standard_normal(n) * 3).astype(dtype)
            s, g, s2 = np.empty_like(a), a.copy(), np.empty_like(a)
            getattr(lib, f"activate_{c}")(n, pointer(a), pointer(s))
            getattr(lib, f"activate_and_grad_{c}")(n, pointer(g), pointer(s2))
            z = (rng.standard_normal(n) * 20).astype(dtype)
            expected_z = z.copy()
            loss = getattr(lib, f"softmax_{c}")(n, pointer(z), n // 2)
            expected_s, expected_g, expected_s2 = np.empty_like(a), a.copy(), np.empty_like(a)
            probe.activate(a, expected_s, widest)
            probe.activate_and_grad(expected_g, expected_s2, widest)
            expected_loss = probe.softmax_cross_entropy(expected_z, n // 2, widest)
            np.testing.assert_array_equal(s, expected_s)
            np.testing.assert_array_equal(s2, expected_s2)
            np.testing.assert_array_equal(g, expected_g)
            np.testing.assert_array_equal(z, expected_z)
            assert loss == expected_loss
