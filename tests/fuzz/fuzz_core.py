"""Property-based fuzzing of the core public API (run in a subprocess by test_fuzz.py).

Every call either returns the correct result or raises a clear TypeError or
ValueError.  A crash (segfault, abort) kills this process, which the parent
test sees as a failed run.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import normrnn
from normrnn import gradcheck, reference, sections

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
TOLERANCE = {np.dtype(np.float64): 1e-11, np.dtype(np.float32): 1e-3}
CLEAR = (TypeError, ValueError)

# --- valid arguments of every section, by kind --------------------------------
# kind: "E" (V, H) matrix, "W" (H, H) matrix, "N" (H, H) matrix whose rows are
# normalised (hh: a zero row is refused), "v" (H,) vector, "t" token
SIGNATURES = {
    "activation": "v",
    "activation_grad": "v",
    "activation_backward": "vv",
    "logits_forward": "Ev",
    "logits_backward": "Evt",
    "bias_backward": "v",
    "ih_forward": "Wv",
    "ih_backward": "Wvv",
    "embedding_activation_forward": "Et",
    "embedding_activation_backward": "Etv",
    "hh_forward": "Wv",
    "hh_backward": "Wvv",
    "row_normalise": "N",
    "row_normalise_backward": "NW",
    "gain_forward": "Nv",       # any finite gain, zero and negative included
    "gain_backward": "NvW",
}
MUTATIONS = ("none", "read_only", "dtype", "shape", "fortran", "strided", "nan", "inf",
             "list", "token_range", "token_type", "zero_row")
BAD_DTYPES = (np.float16, np.int64, np.complex128, np.bool_, object)


def build(kind, rng, V, H, dtype):
    if kind == "E":
        return rng.normal(size=(V, H)).astype(dtype)
    if kind in "WN":
        return rng.normal(size=(H, H)).astype(dtype)
    if kind == "v":
        return rng.normal(size=H).astype(dtype)
    return int(rng.integers(V))


def mutate(args, kinds, mutation, position, rng, V):
    """Return (args, expect_error) with one argument spoiled by ``mutation``."""
    args = list(args)
    arrays = [i for i, k in enumerate(kinds) if k != "t"]
    tokens = [i for i, k in enumerate(kinds) if k == "t"]
    if mutation == "none":
        return args, False
    if mutation == "read_only":
        for i in arrays:
            args[i].flags.writeable = False
        return args, False
    if mutation in ("token_range", "token_type"):
        if not tokens:
            return args, False
        i = tokens[0]
        args[i] = (V + position if position % 2 else -1 - position) if mutation == "token_range" \
            else [1.5, "3", None, 2.0, np.float64(1)][position % 5]
        return args, True
    i = arrays[position % len(arrays)]
    a = args[i]
    if mutation == "dtype":
        args[i] = a.astype(BAD_DTYPES[position % len(BAD_DTYPES)])
    elif mutation == "shape":
        if position % 2:
            # one more column: wrong only beside another array that fixes H
            args[i] = np.concatenate([a, a[..., :1]], axis=-1)
            return args, len(arrays) > 1
        args[i] = a[..., None]
    elif mutation in ("fortran", "strided"):
        args[i] = np.asfortranarray(a) if mutation == "fortran" \
            else np.repeat(a, 2, axis=-1)[..., ::2]
        # numpy calls an array with axes of length 1 contiguous whatever its
        # strides, and so do the kernels: only a truly strided one is refused
        return args, not args[i].flags.c_contiguous
    elif mutation in ("nan", "inf"):
        a = a.copy()
        a.flat[position % a.size] = np.nan if mutation == "nan" else -np.inf
        args[i] = a
    elif mutation == "list":
        args[i] = a.tolist()
    elif mutation == "zero_row":
        if kinds[i] not in "WN":
            return args, False
        a = a.copy()
        a[position % a.shape[0]] = 0
        args[i] = a
        # only the row normalisation and the gain divide by a row's norm
        return args, kinds[i] == "N"
    return args, True


def same(got, want, dtype):
    got = got if isinstance(got, tuple) else (got,)
    want = want if isinstance(want, tuple) else (want,)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert np.all(np.isfinite(g))
        assert gradcheck.relative_error(g, w) <= TOLERANCE[np.dtype(dtype)]


@SETTINGS
@given(name=st.sampled_from(sorted(SIGNATURES)), V=st.integers(1, 9), H=st.integers(1, 9),
       dtype=st.sampled_from([np.float32, np.float64]), mutation=st.sampled_from(MUTATIONS),
       position=st.integers(0, 50), seed=st.integers(0, 2**32 - 1))
def test_sections(name, V, H, dtype, mutation, position, seed):
    rng = np.random.default_rng(seed)
    kinds = SIGNATURES[name]
    valid = [build(k, rng, V, H, dtype) for k in kinds]
    args, expect_error = mutate([a.copy() if isinstance(a, np.ndarray) else a for a in valid],
                                kinds, mutation, position, rng, V)
    if expect_error:
        with pytest.raises(CLEAR):
            getattr(sections, name)(*args)
        return
    got = getattr(sections, name)(*args)
    want = getattr(reference, name)(*[np.asarray(a, dtype=np.float64)
                                      if isinstance(a, np.ndarray) else a for a in args])
    same(got, want, dtype)


JUNK = st.one_of(st.none(), st.integers(-5, 5), st.floats(allow_nan=True), st.text(max_size=3),
                 st.lists(st.integers(-3, 12), max_size=4),
                 st.builds(np.zeros, st.tuples(st.integers(0, 3), st.integers(0, 3))),
                 st.builds(lambda n: np.arange(n, dtype=np.float32), st.integers(0, 5)))


@SETTINGS
@given(name=st.sampled_from(sorted(SIGNATURES)), args=st.lists(JUNK, min_size=0, max_size=4))
def test_sections_with_junk_never_crash(name, args):
    try:
        out = getattr(sections, name)(*args)
    except CLEAR:
        return
    for o in (out if isinstance(out, tuple) else (out,)):
        assert np.all(np.isfinite(o))


@SETTINGS
@given(V=st.integers(1, 8), H=st.integers(1, 8), dtype=st.sampled_from([np.float32, np.float64]),
       tokens=st.lists(st.integers(-2, 10), min_size=0, max_size=12),
       title_length=st.integers(-2, 14), seed=st.integers(0, 1000),
       spoil=st.sampled_from(["none", "nan", "inf", "zero_row", "dtype", "fortran", "read_only",
                              "shape"]))
def test_model(V, H, dtype, tokens, title_length, seed, spoil):
    model = normrnn.NormRNN(V, H, seed=seed, dtype=dtype)
    name = normrnn.PARAMETER_NAMES[seed % 4]
    p = getattr(model, name)
    bad = spoil not in ("none", "read_only")
    if spoil in ("nan", "inf"):
        p.flat[seed % p.size] = np.nan if spoil == "nan" else np.inf
    elif spoil == "zero_row":
        model.hh[seed % H] = 0
    elif spoil == "dtype":
        setattr(model, name, p.astype(np.float16))
    elif spoil == "fortran":
        setattr(model, name, np.asfortranarray(p))
        bad = p.ndim == 2 and H > 1 and (name != "embedding" or V > 1)
    elif spoil == "shape":
        setattr(model, name, p[..., :-1] if p.shape[-1] > 1 else np.zeros((1,) * (p.ndim + 1), dtype))
    elif spoil == "read_only":
        p.flags.writeable = False
    bad = bad or not tokens or min(tokens) < 0 or max(tokens) >= V \
        or not 0 <= title_length <= len(tokens)
    if bad:
        with pytest.raises(CLEAR):
            model.loss_and_grads(tokens, title_length)
        return
    loss, grads = model.loss_and_grads(tokens, title_length)
    params = [np.asarray(getattr(model, n), np.float64) for n in normrnn.PARAMETER_NAMES]
    ref_loss, ref_grads = reference.loss_and_grads(*params, tokens, title_length)
    assert loss == pytest.approx(ref_loss, rel=TOLERANCE[np.dtype(dtype)], abs=1e-6)
    for n, g in grads.items():
        assert g.dtype == dtype and g.shape == getattr(model, n).shape
        assert gradcheck.relative_error(g, ref_grads[n]) <= 10 * TOLERANCE[np.dtype(dtype)]


@SETTINGS
@given(V=st.integers(1, 8), H=st.integers(1, 8), dtype=st.sampled_from([np.float32, np.float64]),
       tokens=st.lists(st.integers(0, 7), min_size=1, max_size=12), seed=st.integers(0, 1000),
       gains=st.lists(st.one_of(st.floats(-5, 5), st.just(0.0), st.just(-0.0),
                                st.sampled_from([np.nan, np.inf, -np.inf])),
                      min_size=8, max_size=8))
def test_model_with_a_learned_gain(V, H, dtype, tokens, seed, gains):
    # any finite gain (zero and negative included) gives the reference's loss
    # and gradients; a NaN or inf one is refused with a ValueError
    tokens = [t % V for t in tokens]
    model = normrnn.NormRNN(V, H, seed=seed, dtype=dtype, gain="learned")
    model.gain[...] = np.array(gains[:H], dtype=dtype)
    m = seed % (len(tokens) + 1)
    if not np.all(np.isfinite(model.gain)):
        with pytest.raises(ValueError, match="gain must be finite"):
            model.loss_and_grads(tokens, m)
        return
    loss, grads = model.loss_and_grads(tokens, m)
    params = [np.asarray(getattr(model, n), np.float64) for n in normrnn.PARAMETER_NAMES]
    ref_loss, ref_grads = reference.loss_and_grads(*params, tokens, m,
                                                   gain=model.gain.astype(np.float64))
    assert loss == pytest.approx(ref_loss, rel=TOLERANCE[np.dtype(dtype)], abs=1e-6)
    assert set(dict(grads.items())) == set(ref_grads)
    for n, g in grads.items():
        assert g.dtype == dtype and g.shape == getattr(model, n).shape
        assert gradcheck.relative_error(g, ref_grads[n]) <= 10 * TOLERANCE[np.dtype(dtype)]
