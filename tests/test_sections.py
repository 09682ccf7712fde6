"""Each section's Cython kernel against finite differences and its NumPy twin."""

import numpy as np
import pytest

from normrnn import gradcheck, reference, section_registry, sections

FLOATS = (np.float64, np.float32)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", gradcheck.SECTIONS)
def test_section_backward_matches_finite_differences(name, dtype):
    # tolerance per dtype and why: gradcheck.TOLERANCES (1e-7 float64, 1e-4 float32)
    tolerance = gradcheck.TOLERANCES[np.dtype(dtype)]
    for seed in range(3):
        errors = gradcheck.check_section(name, dtype=dtype, seed=seed)
        assert errors, name
        for wrt, error in errors.items():
            assert error <= tolerance, (name, wrt, error)


def test_float64_checks_reach_well_below_tolerance():
    # the project's bar: about 1e-7 relative or better for every float64 section
    rows = gradcheck.check_all(dtype=np.float64)
    # a row per gradient of every section (the gain's two: hh and gain)
    assert len(rows) == sum(len(s.wrt) for s in section_registry.SECTIONS)
    assert max(r.error for r in rows) < 1e-7
    assert all(r.passed for r in rows)


def _inputs(rng, dtype, V=7, H=5):
    return dict(
        embedding=rng.normal(size=(V, H)).astype(dtype),
        matrix=rng.normal(size=(H, H)).astype(dtype),
        vector=rng.normal(size=H).astype(dtype),
        other=rng.normal(size=H).astype(dtype),
        hh=(rng.normal(size=(H, H)) * np.logspace(-3, 3, H)[:, None]).astype(dtype),
    )


def _calls(x):
    """Each section called with the same arguments in both modules."""
    return {
        "activation": ("activation", (x["vector"],)),
        "activation_grad": ("activation_grad", (x["vector"],)),
        "activation_backward": ("activation_backward", (x["other"], x["vector"])),
        "logits_forward": ("logits_forward", (x["embedding"], x["vector"])),
        "logits_backward": ("logits_backward", (x["embedding"], x["vector"], 4)),
        "bias_backward": ("bias_backward", (x["vector"],)),
        "ih_forward": ("ih_forward", (x["matrix"], x["vector"])),
        "ih_backward": ("ih_backward", (x["matrix"], x["vector"], x["other"])),
        "embedding_activation_forward": ("embedding_activation_forward", (x["embedding"], 6)),
        "embedding_activation_backward": ("embedding_activation_backward",
                                          (x["embedding"], 6, x["other"])),
        "hh_forward": ("hh_forward", (x["matrix"], x["vector"])),
        "hh_backward": ("hh_backward", (x["matrix"], x["vector"], x["other"])),
        "row_normalise": ("row_normalise", (x["hh"],)),
        "row_normalise_backward": ("row_normalise_backward", (x["hh"], x["matrix"])),
        "gain_forward": ("gain_forward", (x["hh"], x["other"])),
        "gain_backward": ("gain_backward", (x["hh"], x["other"], x["matrix"])),
    }


def _as_tuple(result):
    return result if isinstance(result, tuple) else (result,)


def test_every_public_section_has_a_numpy_twin():
    assert set(sections.__all__) <= set(reference.__all__)
    assert set(_calls(_inputs(np.random.default_rng(0), np.float64))) == set(sections.__all__)


@pytest.mark.parametrize("name", sections.__all__)
def test_cython_equals_numpy_reference_float64(name):
    # same formula, same float64 inputs: they differ only by the order of
    # rounding in sums of at most H or V terms, a few ulps: 1e-13 relative
    x = _inputs(np.random.default_rng(1), np.float64)
    fn, args = _calls(x)[name]
    got = _as_tuple(getattr(sections, fn)(*args))
    want = _as_tuple(getattr(reference, fn)(*args))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert np.shape(g) == np.shape(w)
        assert gradcheck.relative_error(g, w) < 1e-13, fn


@pytest.mark.parametrize("name", sections.__all__)
def test_float32_kernels_agree_with_float64(name):
    # float32 rounding (u = 6e-8) through sums of up to V terms: 1e-5 relative
    x64 = _inputs(np.random.default_rng(2), np.float64)
    x32 = {k: v.astype(np.float32) for k, v in x64.items()}
    fn, args64 = _calls(x64)[name]
    _, args32 = _calls(x32)[name]
    got = _as_tuple(getattr(sections, fn)(*args32))
    want = _as_tuple(getattr(sections, fn)(*args64))
    for g, w in zip(got, want):
        if isinstance(g, np.ndarray):
            assert g.dtype == np.float32
        assert gradcheck.relative_error(g, w) < 1e-5, fn


def test_activation_values():
    x = np.array([0.0, -0.5, 1.0, -2.0, 1e3])
    np.testing.assert_allclose(sections.activation(x), [0.0, -1 / 3, 2 / 3, 2 / 3, 1 - 1 / 1001001],
                               rtol=1e-15)
    np.testing.assert_allclose(sections.activation_grad(x), [1.0, 0.0, 1 / 3, -1 / 3, 2001 / 1001001**2],
                               rtol=1e-14)


def test_embedding_activation_backward_touches_only_its_row():
    x = _inputs(np.random.default_rng(3), np.float64)
    d_embedding = sections.embedding_activation_backward(x["embedding"], 2, x["other"])
    assert np.count_nonzero(np.abs(d_embedding).sum(axis=1)) == 1
    assert np.all(d_embedding[2] != 0)


def test_row_normalise_rows_have_norm_one_over_h():
    hh = _inputs(np.random.default_rng(4), np.float64)["hh"]
    norms = np.linalg.norm(sections.row_normalise(hh), axis=1)
    np.testing.assert_allclose(norms, 1 / hh.shape[1], rtol=1e-14)


def test_row_normalise_backward_is_orthogonal_to_each_row():
    # scaling a row does not change S, so the gradient has no radial part
    x = _inputs(np.random.default_rng(5), np.float64)
    d_hh = sections.row_normalise_backward(x["hh"], x["matrix"])
    radial = np.einsum("ij,ij->i", d_hh, x["hh"]) / np.linalg.norm(x["hh"], axis=1)
    # d_hh[i] . w_i is zero up to rounding: a few ulps of the row's own size
    assert np.all(np.abs(radial) <= 1e-14 * np.linalg.norm(d_hh, axis=1))
