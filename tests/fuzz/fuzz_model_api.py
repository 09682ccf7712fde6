"""Property-based fuzzing of the rest of the model API (run in a subprocess by test_fuzz.py).

fuzz_core.py covers the sections and ``NormRNN.loss_and_grads``; this module
covers the constructor, ``loss``, ``states``, ``next_state``,
``probabilities`` and ``batch_loss_and_grads``.  Every call either returns
what the NumPy reference computes (within a stated tolerance) or raises a
TypeError or ValueError whose message names the offending argument.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import normrnn
from normrnn import gradcheck, reference

SETTINGS = settings(max_examples=120, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
# float64: sums of a few dozen terms in another order; float32: u = 6e-8
# amplified along a document of up to 12 tokens
TOLERANCE = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-3}
CLEAR = (TypeError, ValueError)
DTYPES = st.sampled_from([np.float32, np.float64])
METHODS = ("loss", "states", "next_state", "probabilities", "batch_loss_and_grads")


def make(V, H, dtype, seed):
    model = normrnn.NormRNN(V, H, seed=seed, dtype=dtype)
    model.bias[:] = np.random.default_rng(seed).normal(0, 0.3, H)
    return model


def params64(model):
    return [getattr(model, n).astype(np.float64) for n in normrnn.PARAMETER_NAMES]


def close(got, want, dtype):
    assert np.all(np.isfinite(got))
    assert gradcheck.relative_error(got, want) <= TOLERANCE[np.dtype(dtype)]


# --- token containers: every layout the front door accepts must give the same result ----
def as_container(tokens, kind):
    arr = np.array(tokens, dtype=np.int64)
    if kind == "list":
        return list(tokens)
    if kind == "tuple":
        return tuple(np.int16(t) for t in tokens)
    if kind == "uint8":
        return arr.astype(np.uint8)
    if kind == "float":                      # integral floats are token ids too
        return arr.astype(np.float64)
    if kind == "strided":                    # a non-contiguous view
        return np.repeat(arr, 2)[::2]
    if kind == "big_endian":
        return arr.astype(">i8")
    if kind == "read_only":
        arr.flags.writeable = False
        return arr
    raise AssertionError(kind)


CONTAINERS = st.sampled_from(["list", "tuple", "uint8", "float", "strided", "big_endian",
                              "read_only"])


@st.composite
def documents(draw, V, min_size=1, max_size=12):
    tokens = draw(st.lists(st.integers(0, V - 1), min_size=min_size, max_size=max_size))
    return tokens, draw(st.integers(0, len(tokens)))


@SETTINGS
@given(data=st.data(), V=st.integers(1, 9), H=st.integers(1, 8), dtype=DTYPES,
       seed=st.integers(0, 2**16), kind=CONTAINERS, with_state=st.booleans(),
       read_only=st.booleans())
def test_loss_and_states_match_the_reference(data, V, H, dtype, seed, kind, with_state,
                                             read_only):
    model = make(V, H, dtype, seed)
    tokens, m = data.draw(documents(V))
    state = None
    if with_state:
        state = np.random.default_rng(seed + 1).uniform(-1 / 3, 1, H).astype(dtype)
        state.flags.writeable = not read_only
    if read_only:
        for p in model.parameters().values():
            p.flags.writeable = False
    P = params64(model)
    s64 = None if state is None else state.astype(np.float64)

    loss = model.loss(as_container(tokens, kind), m, initial_state=state)
    want = reference.loss(*P, tokens, m, initial_state=s64)
    assert isinstance(loss, float)
    assert loss == pytest.approx(want, rel=TOLERANCE[np.dtype(dtype)], abs=1e-6)

    states = model.states(as_container(tokens, kind), initial_state=state)
    assert states.dtype == dtype and states.shape == (len(tokens), H)
    close(states, reference.forward(*P, tokens, initial_state=s64), dtype)


@SETTINGS
@given(V=st.integers(1, 9), H=st.integers(1, 8), dtype=DTYPES, seed=st.integers(0, 2**16),
       token=st.integers(0, 8), temperature=st.one_of(
           st.floats(1e-300, 1e3), st.integers(1, 5), st.sampled_from([np.float32(0.5), 1e-320])))
def test_next_state_and_probabilities_match_the_reference(V, H, dtype, seed, token,
                                                          temperature):
    token = token % V
    model = make(V, H, dtype, seed)
    state = np.random.default_rng(seed + 1).uniform(-1 / 3, 1, H).astype(dtype)
    P = params64(model)
    got = model.next_state(state, token)
    assert got.shape == (H,) and got.dtype == dtype
    close(got, reference.forward(*P, [token, 0], initial_state=state.astype(np.float64))[1],
          dtype)

    p = model.probabilities(state, temperature=temperature)
    z = reference.logits_forward(P[0], state.astype(np.float64))
    assert p.dtype == np.float64 and p.shape == (V,)
    assert np.all(np.isfinite(p)) and np.all(p >= 0)           # even as temperature -> 0
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(np.diff(p[np.argsort(z)]) >= -1e-12)        # larger logit, larger p
    assert p[np.argmax(z)] == pytest.approx(p.max(), rel=1e-9)
    if temperature >= 1e-2:
        # softmax(z / T); z / T is at most |z| / 1e-2, so exp(z/T - max) is exact to
        # about 1e-16 * |z| / T relative
        want = np.exp(z / float(temperature) - np.max(z / float(temperature)))
        np.testing.assert_allclose(p, want / want.sum(), rtol=1e-9, atol=1e-15)


@SETTINGS
@given(data=st.data(), V=st.integers(1, 9), H=st.integers(1, 8), dtype=DTYPES,
       seed=st.integers(0, 2**16), n_docs=st.integers(1, 5), n_threads=st.integers(1, 4))
def test_batch_matches_the_sum_of_reference_documents(data, V, H, dtype, seed, n_docs,
                                                      n_threads):
    model = make(V, H, dtype, seed)
    docs = [data.draw(documents(V)) for _ in range(n_docs)]
    loss, grads = model.batch_loss_and_grads(docs, n_threads=n_threads)
    P = params64(model)
    want_loss, want = 0.0, {n: 0.0 for n in normrnn.PARAMETER_NAMES}
    for tokens, m in docs:
        doc_loss, doc_grads = reference.loss_and_grads(*P, tokens, m)
        want_loss += doc_loss
        want = {n: want[n] + doc_grads[n] for n in want}
    assert loss == pytest.approx(want_loss, rel=TOLERANCE[np.dtype(dtype)], abs=1e-6)
    for name, g in grads.items():
        assert g.dtype == dtype and g.shape == getattr(model, name).shape
        assert gradcheck.relative_error(g, np.broadcast_to(want[name], g.shape)) \
            <= 10 * TOLERANCE[np.dtype(dtype)]


# --- bad arguments: a clear error that names the argument -------------------------------
def spoil_array(a, how, rng):
    """A wrong version of the valid array ``a``."""
    if how == "dtype":
        return a.astype(rng.choice([np.float16, np.int64, np.complex128, object]))
    if how == "other_float":
        return a.astype(np.float32 if a.dtype == np.float64 else np.float64)
    if how == "shape":
        return np.concatenate([a, a[:1]])
    if how == "ndim":
        return a[None, :]
    if how == "strided":
        return np.repeat(a, 2)[::2] if a.size > 1 else None
    if how in ("nan", "inf"):
        a = a.copy()
        a[rng.integers(a.size)] = np.nan if how == "nan" else -np.inf
        return a
    if how == "list":
        return a.tolist()
    raise AssertionError(how)


ARRAY_SPOILS = ("dtype", "other_float", "shape", "ndim", "strided", "nan", "inf", "list")
BAD_TOKENS = st.one_of(
    st.lists(st.integers(-3, 12), max_size=6),            # out of range / empty
    st.lists(st.floats(allow_nan=True), min_size=1, max_size=3),
    st.sampled_from(["abc", b"ab", 3, None, [[1, 2]], [True], [1.5], {1: 2}, [2**70],
                     np.array([1, 2], dtype=np.complex64), [object()]]))
BAD_INTS = st.sampled_from([-1, 99, 1.0, 2.5, "1", None, True, np.float64(1), 2**70, []])


def valid_tokens(value, V):
    """Whether a drawn list happens to hold valid token ids (integral, in [0, V))."""
    return isinstance(value, list) and len(value) > 0 and all(
        isinstance(t, (int, float)) and not isinstance(t, bool) and 0 <= t < V
        and t == int(t) for t in value)


def all_finite(out):
    for o in (out if isinstance(out, tuple) else (out,)):
        for a in (o.as_dict().values() if isinstance(o, normrnn.Grads) else [o]):
            assert np.all(np.isfinite(a))


def expect_named_error(call, name):
    with pytest.raises(CLEAR) as info:
        call()
    assert name in str(info.value), f"{name!r} not in {str(info.value)!r}"


@SETTINGS
@given(data=st.data(), V=st.integers(2, 7), H=st.integers(2, 6), dtype=DTYPES,
       seed=st.integers(0, 1000), method=st.sampled_from(METHODS))
def test_bad_arguments_are_refused_by_name(data, V, H, dtype, seed, method):
    model = make(V, H, dtype, seed)
    rng = np.random.default_rng(seed)
    state = rng.uniform(-1 / 3, 1, H).astype(dtype)
    tokens = [int(t) for t in rng.integers(0, V, 4)]
    if method in ("loss", "states"):
        which = data.draw(st.sampled_from(["tokens", "initial_state", "title_length"]
                                          if method == "loss" else ["tokens", "initial_state"]))
        args = {"tokens": tokens, "title_length": 1, "initial_state": state}
        if which == "tokens":
            bad = data.draw(BAD_TOKENS)
            if valid_tokens(bad, V):
                return
            args["tokens"] = bad
            args["title_length"] = 0
        elif which == "title_length":
            args["title_length"] = data.draw(BAD_INTS)
        else:
            spoil = spoil_array(state, data.draw(st.sampled_from(ARRAY_SPOILS)), rng)
            if spoil is None:
                return
            args["initial_state"] = spoil
        if method == "loss":
            expect_named_error(lambda: model.loss(args["tokens"], args["title_length"],
                                                  initial_state=args["initial_state"]), which)
        else:
            expect_named_error(lambda: model.states(args["tokens"],
                                                    initial_state=args["initial_state"]), which)
    elif method == "next_state":
        if data.draw(st.booleans()):
            spoil = spoil_array(state, data.draw(st.sampled_from(ARRAY_SPOILS)), rng)
            if spoil is None:
                return
            expect_named_error(lambda: model.next_state(spoil, 0), "state")
        else:
            bad = data.draw(st.sampled_from([-1, V, V + 5, 1.0, 1.5, "1", None, True, [1]]))
            expect_named_error(lambda: model.next_state(state, bad), "token")
    elif method == "probabilities":
        if data.draw(st.booleans()):
            spoil = spoil_array(state, data.draw(st.sampled_from(ARRAY_SPOILS)), rng)
            if spoil is None:
                return
            expect_named_error(lambda: model.probabilities(spoil), "state")
        else:
            bad = data.draw(st.sampled_from([0, -1.0, np.nan, np.inf, -np.inf, "1", None,
                                             True, [1.0], 10**400, complex(1, 0)]))
            expect_named_error(lambda: model.probabilities(state, temperature=bad),
                               "temperature")
    else:
        kind = data.draw(st.sampled_from(["documents", "pair", "tokens", "title_length",
                                          "n_threads"]))
        good = [(tokens, 1), (tokens[:2], 0)]
        if kind == "documents":
            bad = data.draw(st.sampled_from([[], None, 3, "ab", iter([])]))
            expect_named_error(lambda: model.batch_loss_and_grads(bad), "documents")
        elif kind == "pair":
            bad = data.draw(st.sampled_from([tokens, (tokens, 1, 2), 5, None, "ab",
                                             {"tokens": tokens}]))
            expect_named_error(lambda: model.batch_loss_and_grads([*good, bad]),
                               "documents[2]")
        elif kind == "tokens":
            bad = data.draw(st.sampled_from([[], [V], [-1], [1.5], "abc", [[1]]]))
            expect_named_error(lambda: model.batch_loss_and_grads([*good, (bad, 0)]),
                               "documents[2]: tokens")
        elif kind == "title_length":
            bad = data.draw(st.sampled_from([-1, 5, 1.0, None, "0", True]))
            expect_named_error(lambda: model.batch_loss_and_grads([*good, (tokens, bad)]),
                               "documents[2]: title_length")
        else:
            bad = data.draw(BAD_INTS.filter(lambda v: not (isinstance(v, int) and v >= 1
                                                           and not isinstance(v, bool))))
            expect_named_error(lambda: model.batch_loss_and_grads(good, n_threads=bad),
                               "n_threads")


# --- unusable parameters: every method refuses them, naming the parameter ------------------
@SETTINGS
@given(V=st.integers(1, 6), H=st.integers(1, 6), dtype=DTYPES, seed=st.integers(0, 1000),
       name=st.sampled_from(normrnn.PARAMETER_NAMES), method=st.sampled_from(METHODS),
       spoil=st.sampled_from(["nan", "inf", "zero_row", "dtype", "other_float", "shape",
                              "fortran", "list", "none"]))
def test_every_method_refuses_unusable_parameters(V, H, dtype, seed, name, method, spoil):
    model = make(V, H, dtype, seed)
    p = getattr(model, name)
    state = np.zeros(H, dtype)
    call = {"loss": lambda: model.loss([0, 0], 1),
            "states": lambda: model.states([0, 0]),
            "next_state": lambda: model.next_state(state, 0),
            "probabilities": lambda: model.probabilities(state),
            "batch_loss_and_grads": lambda: model.batch_loss_and_grads([([0, 0], 1)])}[method]
    if spoil == "zero_row":
        name = "hh"
        model.hh[seed % H] = 0
    elif spoil in ("nan", "inf"):
        p.flat[seed % p.size] = np.nan if spoil == "nan" else np.inf
    elif spoil == "dtype":
        setattr(model, name, p.astype(np.float16))
    elif spoil == "other_float":
        if name == "embedding":        # the embedding sets the dtype: the others are wrong
            name = "ih"
        setattr(model, name, p.astype(np.float32 if dtype == np.float64 else np.float64))
    elif spoil == "shape":
        setattr(model, name, np.zeros(p.shape[:-1] + (p.shape[-1] + 1,), dtype)
                if name != "embedding" else np.zeros((V, H, 1), dtype))
    elif spoil == "fortran":
        if p.ndim == 1 or min(p.shape) == 1:
            return                     # numpy calls such an array C-contiguous too
        setattr(model, name, np.asfortranarray(p))
    elif spoil == "list":
        setattr(model, name, p.tolist())
    if spoil == "none":
        all_finite(call())
        return
    expect_named_error(call, name)


# --- the constructor ------------------------------------------------------------------
SIZES = st.one_of(st.integers(-3, 12), st.sampled_from([0, 1.0, 2.5, "3", None, True,
                                                        np.int64(4), np.uint8(3), [2]]))
SEEDS = st.one_of(st.none(), st.integers(0, 2**64), st.integers(-5, -1),
                  st.sampled_from([1.5, "seed", [1, 2], np.int32(7)]))
DTYPE_ARGS = st.sampled_from([np.float32, np.float64, "float32", "float64", np.dtype("f8"),
                              None, np.float16, np.int32, "int8", complex, object, "nonsense",
                              3])


def valid_size(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1


@SETTINGS
@given(V=SIZES, H=SIZES, seed=SEEDS, dtype=DTYPE_ARGS)
def test_constructor(V, H, seed, dtype):
    try:
        model = normrnn.NormRNN(V, H, seed=seed, dtype=dtype)
    except CLEAR as exc:
        message = str(exc)
        assert any(n in message for n in ("vocab_size", "hidden_size", "seed", "dtype")), message
        if not valid_size(V):
            assert "vocab_size" in message
        elif not valid_size(H):
            assert "hidden_size" in message
        return
    assert valid_size(V) and valid_size(H)
    assert model.embedding.shape == (V, H) and model.hh.shape == (H, H)
    assert model.dtype in (np.float32, np.float64)
    model.check_parameters()                          # finite, nonzero rows of hh
    if seed is not None:
        again = normrnn.NormRNN(V, H, seed=seed, dtype=dtype)
        for n in normrnn.PARAMETER_NAMES:
            np.testing.assert_array_equal(getattr(again, n), getattr(model, n))


# --- junk: never a crash, never a non-finite result -----------------------------------------
JUNK = st.one_of(st.none(), st.integers(-5, 12), st.floats(allow_nan=True), st.text(max_size=3),
                 st.booleans(), st.lists(st.integers(-3, 12), max_size=5),
                 st.lists(st.tuples(st.lists(st.integers(-1, 8), max_size=4),
                                    st.integers(-1, 5)), max_size=3),
                 st.builds(np.zeros, st.integers(0, 7)),
                 st.builds(lambda n: np.arange(n, dtype=np.float32), st.integers(0, 7)),
                 st.builds(lambda n: np.full(n, np.nan), st.integers(0, 7)))


@SETTINGS
@given(method=st.sampled_from(METHODS + ("loss_and_grads",)),
       args=st.lists(JUNK, max_size=3), seed=st.integers(0, 100))
def test_junk_never_crashes(method, args, seed):
    model = make(7, 5, np.float64, seed)
    try:
        out = getattr(model, method)(*args)
    except CLEAR:
        return
    all_finite(out)
