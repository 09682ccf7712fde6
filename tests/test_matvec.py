"""The sequential product y += M^T x of the fast BPTT (``normrnn/_kernels/matvec.h``).

The kernel runs in panels of 8, 4, 2 and 1 vectors (8 doubles or 16 floats
each) and a scalar tail, chosen by the number of columns: the sizes below
reach every combination.  Each y[j] is a sum over the rows in order, so the
error is bounded by the textbook bound for a sum of ``rows`` products,
``rows * eps * sum_i |x_i m_ij|`` (Higham, *Accuracy and Stability of
Numerical Algorithms*, 3.1), plus ``eps |y_j|`` for the starting value.
"""

import ctypes
import pathlib
import subprocess

import numpy as np
import pytest

from normrnn._kernels import bptt_gathered as bptt, matvec_probe

HEADER_DIR = pathlib.Path(__file__).parents[1] / "normrnn" / "_kernels"   # matvec.h

COLUMNS = [1, 3, 7, 8, 9, 16, 17, 24, 31, 32, 33, 48, 63, 64, 65, 96, 100, 127, 128,
           129, 136, 200, 256]


def _case(rows, cols, dtype, seed=0):
    rng = np.random.default_rng(seed)
    m, x, y = (rng.standard_normal(shape).astype(dtype) for shape in ((rows, cols), rows, cols))
    return m, x, y


def _check(m, x, y, product=matvec_probe.matvec_t_add):
    """``product(m, x, out)`` adds m^T x into ``out``, within the bound of the docstring."""
    out = y.copy()
    product(m, x, out)
    _check_result(m, x, y, out)


def _check_result(m, x, y, out):
    """``out`` is y + m^T x within the bound of the docstring."""
    exact = y.astype(np.float64) + m.astype(np.float64).T @ x.astype(np.float64)
    eps = np.finfo(m.dtype).eps
    bound = m.shape[0] * eps * (np.abs(m.astype(np.float64)).T @ np.abs(x.astype(np.float64)))
    bound += eps * np.abs(y.astype(np.float64))
    assert out.dtype == m.dtype
    assert np.all(np.abs(out - exact) <= bound + np.finfo(m.dtype).tiny)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("cols", COLUMNS)
def test_every_panel_and_tail(cols, dtype):
    for rows in (1, 5, cols):
        _check(*_case(rows, cols, dtype, seed=cols))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_unaligned_rows(dtype):
    # the vector loads take any element address: start the matrix, x and y one
    # element past a 64-byte boundary, and use rows whose length is not a
    # multiple of the vector, so that every row starts somewhere else
    rows, cols = 37, 45
    base, x, y = _case(rows * cols + 1, 1, dtype)
    m = base[1:, 0].reshape(rows, cols)
    assert m.ctypes.data % 64 != 0 and m.flags.c_contiguous
    _check(m, _case(rows + 1, 1, dtype)[0][1:, 0], _case(cols + 1, 1, dtype, seed=1)[0][1:, 0])


def test_adds_into_y_and_leaves_inputs():
    m, x, y = _case(6, 20, np.float64)
    m0, x0, y0 = m.copy(), x.copy(), y.copy()
    matvec_probe.matvec_t_add(m, x, y)
    np.testing.assert_array_equal(m, m0)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_allclose(y, y0 + m.T @ x, rtol=1e-14, atol=1e-14)


def test_zero_sizes_and_bad_shapes():
    matvec_probe.matvec_t_add(np.zeros((0, 3)), np.zeros(0), np.ones(3))
    with pytest.raises(ValueError, match="matvec_t_add needs"):
        matvec_probe.matvec_t_add(np.zeros((2, 3)), np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="matvec_t_add needs"):
        matvec_probe.matvec_t_add(np.zeros((2, 3)), np.zeros(2), np.zeros(2))


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-4)])
def test_sequential_products_kernel_and_blas_agree(dtype, rtol):
    # the benchmark's chain x_k = M^T x_{k-1} with an orthogonal M: the kernel
    # and BLAS gemv give the same chain up to rounding, and its norm stays put
    rng = np.random.default_rng(4)
    q = np.ascontiguousarray(np.linalg.qr(rng.standard_normal((40, 40)))[0], dtype=dtype)
    chains = []
    for blas in (False, True):
        xs = np.zeros((30, 40), dtype=dtype)
        xs[0] = rng.standard_normal(40) if not chains else chains[0][0]
        matvec_probe.sequential_products(q, xs, blas=blas)
        chains.append(xs)
    np.testing.assert_allclose(chains[0], chains[1], rtol=rtol, atol=rtol)
    norms = np.linalg.norm(chains[0].astype(np.float64), axis=1)
    np.testing.assert_allclose(norms, norms[0], rtol=rtol)
    with pytest.raises(ValueError, match="sequential_products needs"):
        matvec_probe.sequential_products(q, np.zeros((3, 41), dtype=dtype))


def test_workspace_matrices_start_on_a_cache_line():
    workspace = bptt.Workspace(7, 33, np.float64)
    for name in ("scaled_hh", "scaled_hh_t"):
        array = getattr(workspace, name)
        assert array.ctypes.data % 64 == 0 and array.shape == (33, 33)
        assert array.flags.c_contiguous and array.flags.writeable


# --- each instruction set on its own -----------------------------------------
# The module picks one level of the kernel for this CPU (AVX-512 here, say);
# the others never run in the suite.  So the header is compiled once more per
# -march, without levels (each with that -march's vector width), into a small
# library called through ctypes.

MARCHES = ["x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4"]
HARNESS = """
#include "rows_matmul.h"
void matvec_t_add_d(int r, int c, const double *m, const double *x, double *y)
{ normrnn_matvec_t_add_d(r, c, m, x, y); }
void matvec_t_add_f(int r, int c, const float *m, const float *x, float *y)
{ normrnn_matvec_t_add_f(r, c, m, x, y); }
int rows_count(void) { return normrnn_rows_variant_count(); }
void rows_d(int v, int n, int r, int c, const double *m, const double *x, double *y)
{ normrnn_rows_variant_d(v, n, r, c, m, x, r, y, c); }
void rows_f(int v, int n, int r, int c, const float *m, const float *x, float *y)
{ normrnn_rows_variant_f(v, n, r, c, m, x, r, y, c); }
"""
MARCH_FLAGS = {"x86-64-v3": ("avx2", "fma", "bmi2"),
               "x86-64-v4": ("avx512f", "avx512vl", "avx512bw", "avx512dq", "avx512cd")}


def _missing_flags(march):
    """The flags -march=``march`` needs that this CPU lacks (those of v3 for v4 too)."""
    needed = [*MARCH_FLAGS["x86-64-v3"], *MARCH_FLAGS["x86-64-v4"]] if march == "x86-64-v4" \
        else MARCH_FLAGS.get(march, ())
    try:
        text = open("/proc/cpuinfo").read()
    except OSError:
        return ["(no /proc/cpuinfo)"] if needed else []
    have = set(next(line for line in text.splitlines() if line.startswith("flags")).split())
    return [flag for flag in needed if flag not in have]


@pytest.mark.parametrize("march", MARCHES)
def test_every_instruction_set(march, compiler, tmp_path):
    if _missing_flags(march):
        pytest.skip(f"this CPU lacks {', '.join(_missing_flags(march))}: the {march} "
                    "kernels are not tested here")
    source, library = tmp_path / "harness.c", tmp_path / f"harness-{march}.so"
    source.write_text(HARNESS)
    subprocess.run([compiler, "-O3", f"-march={march}", "-DNORMRNN_NO_CLONES", "-shared",
                    "-fPIC", f"-I{HEADER_DIR}", str(source), "-o", str(library)], check=True)
    lib = ctypes.CDLL(str(library))
    for dtype, function in ((np.float64, lib.matvec_t_add_d), (np.float32, lib.matvec_t_add_f)):
        def product(m, x, out):
            function(m.shape[0], m.shape[1],
                     *(a.ctypes.data_as(ctypes.c_void_p) for a in (m, x, out)))
        for rows, cols in ((5, 3), (17, 64), (33, 100), (128, 128), (40, 257)):
            _check(*_case(rows, cols, dtype, seed=rows), product=product)
    # rows_matmul.h's kernels of this -march: y (n, H) += x (n, H) m (H, H), row by row
    for dtype, function in ((np.float64, lib.rows_d), (np.float32, lib.rows_f)):
        for variant in range(lib.rows_count()):
            for n, H in ((1, 3), (7, 27), (13, 64), (5, 129)):
                m = _case(H, H, dtype, seed=n)[0]
                x, y = (_case(n, H, dtype, seed=seed)[0] for seed in (n + 1, n + 2))
                out = y.copy()
                function(variant, n, H, H, *(a.ctypes.data_as(ctypes.c_void_p)
                                             for a in (m, x, out)))
                for r in range(n):
                    _check_result(m, x[r], y[r], out[r])
