"""Property-based fuzzing of the training side (run in a subprocess by test_fuzz.py).

Damaged and edited checkpoints, the optimizers and gradient clipping,
sampling and the gradient checks.  Every call either returns the right
result or raises a clear error: a :class:`CheckpointError` naming the file
for a checkpoint, a ``TypeError``/``ValueError`` naming the argument
elsewhere.
"""

import atexit
import json
import math
import os
import pathlib
import shutil
import sys
import tempfile
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import normrnn
from normrnn import gradcheck
from normrnn.data import EOT, CharTokenizer
from normrnn.training import (
    OPTIMIZERS,
    CheckpointError,
    TrainConfig,
    Trainer,
    TrainingDiverged,
    clip_grad_norm,
    load_checkpoint,
    make_optimizer,
    sample,
)
from normrnn.training.checkpoint import checksum
from normrnn.training.sampling import sample_tokens

sys.path.insert(0, str(pathlib.Path(__file__).parents[1]))
from _toy import toy_corpus

SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
CLEAR = (TypeError, ValueError)

# --- one small checkpoint, written once ---------------------------------------------------
DOCS = toy_corpus(n=12)
WORK = pathlib.Path(tempfile.mkdtemp(prefix="normrnn-fuzz-"))
atexit.register(shutil.rmtree, WORK, ignore_errors=True)
GOOD = WORK / "good.npz"
_trainer = Trainer.new(DOCS, TrainConfig(hidden_size=4, max_steps=3, batch_size=3, n_threads=1,
                                         eval_every=2, bptt=8, segment=20),
                       checkpoint_path=GOOD, progress=False)
_trainer.run()
GOOD_BYTES = GOOD.read_bytes()
with np.load(GOOD, allow_pickle=False) as _f:
    GOOD_ARRAYS = {k: _f[k] for k in _f.files}
GOOD_PARAMS = {k: v.copy() for k, v in _trainer.model.parameters().items()}
KEYS = sorted(k for k in GOOD_ARRAYS if k != "checksum")


def write_tampered(arrays, name="tampered.npz"):
    """Save ``arrays`` with a recomputed checksum: only the content checks can refuse it."""
    arrays = {k: v for k, v in arrays.items() if k != "checksum"}
    arrays["checksum"] = np.array(checksum(arrays))
    path = WORK / name
    np.savez(path, **arrays)
    return path


def usable(ckpt):
    """A checkpoint that loaded must resume, or be refused by resume with a ValueError."""
    ckpt.model.check_parameters()
    assert ckpt.tokenizer.vocab_size == ckpt.model.vocab_size
    step = ckpt.state.step
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                     # "the corpus differs"
        try:
            trainer = Trainer.resume(ckpt, DOCS, progress=False, overrides={
                "max_steps": step + 1, "epochs": None, "minutes": None})
        except ValueError as exc:
            assert "corpus" in str(exc)
            return
    try:
        result = trainer.run()
    except TrainingDiverged:                                # e.g. huge but finite weights
        return
    assert result.state.step == step + 1


# --- damaged bytes ------------------------------------------------------------------------
# where the zip's local headers, central directory entries and end record start: a
# byte changed there (flags, compression method, sizes, offsets) reaches code paths of
# zipfile that random positions rarely do
ZIP_HEADERS = [i for sig in (b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06")
               for i in range(len(GOOD_BYTES)) if GOOD_BYTES.startswith(sig, i)]
MUTATION = st.one_of(
    st.tuples(st.just("flip"), st.lists(st.builds(
        lambda start, offset, xor: (min(start + offset, len(GOOD_BYTES) - 1), xor),
        st.sampled_from(ZIP_HEADERS), st.integers(0, 45), st.integers(1, 255)),
        min_size=1, max_size=3)),
    st.tuples(st.just("flip"), st.lists(st.tuples(st.integers(0, len(GOOD_BYTES) - 1),
                                                   st.integers(1, 255)), min_size=1, max_size=4)),
    st.tuples(st.just("truncate"), st.integers(0, len(GOOD_BYTES) - 1)),
    st.tuples(st.just("insert"), st.tuples(st.integers(0, len(GOOD_BYTES)),
                                           st.binary(min_size=1, max_size=16))),
    st.tuples(st.just("delete"), st.tuples(st.integers(0, len(GOOD_BYTES) - 1),
                                           st.integers(1, 64))),
    st.tuples(st.just("random"), st.binary(max_size=300)),
)


def mutate(data, mutation):
    kind, arg = mutation
    data = bytearray(data)
    if kind == "flip":
        for position, xor in arg:
            data[position] ^= xor
    elif kind == "truncate":
        del data[arg:]
    elif kind == "insert":
        data[arg[0]:arg[0]] = arg[1]
    elif kind == "delete":
        del data[arg[0]:arg[0] + arg[1]]
    else:
        data = bytearray(arg)
    return bytes(data)


@SETTINGS
@given(mutation=MUTATION)
def test_damaged_file_is_refused_or_loads_unchanged(mutation):
    path = WORK / "damaged.npz"
    path.write_bytes(mutate(GOOD_BYTES, mutation))
    try:
        ckpt = load_checkpoint(path)
    except CheckpointError as exc:
        assert str(exc).startswith(f"{path}: ")
        return
    # only bytes that carry no content (zip metadata) were hit: the content is intact
    for name, p in GOOD_PARAMS.items():
        np.testing.assert_array_equal(ckpt.model.parameters()[name], p)
    assert ckpt.state.step == 3


# --- edited content, checksum recomputed ------------------------------------------------
def _array(dtype, shape, fill):
    with np.errstate(invalid="ignore", over="ignore"):
        return np.full(shape, fill).astype(dtype)


ARRAYS = st.builds(
    _array,
    st.sampled_from([np.float64, np.float32, np.int64, np.int32, np.uint8, np.bool_,
                     np.complex128, "U3", "S3", ">f8"]),
    st.sampled_from([(), (0,), (1,), (3,), (4,), (4, 4), (27, 4), (3, 4), (2, 3)]),
    st.sampled_from([0, 1, -1, 7, 2**40, 0.5, np.nan, np.inf, 1e300]))
JSON_VALUES = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-3, 2**70),
                                     st.floats(allow_nan=True), st.text(max_size=4)),
                           lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=4), inner, max_size=3),
                           max_leaves=6)
JSON_FIELDS = {"config": sorted(json.loads(str(GOOD_ARRAYS["config"]))),
               "progress": sorted(json.loads(str(GOOD_ARRAYS["progress"])))}
EDIT = st.one_of(
    st.tuples(st.just("delete"), st.sampled_from(KEYS)),
    st.tuples(st.just("replace"), st.tuples(st.sampled_from(KEYS), ARRAYS)),
    st.tuples(st.just("values"), st.tuples(
        st.sampled_from([k for k in KEYS if GOOD_ARRAYS[k].dtype.kind in "fi"]),
        st.sampled_from([0, -1, 1, 10**6, np.nan, np.inf, 1e300]), st.integers(0, 200))),
    st.tuples(st.just("extra"), st.tuples(st.text(min_size=1, max_size=6).filter(
        lambda k: k not in GOOD_ARRAYS and "/" not in k and "\x00" not in k), ARRAYS)),
    st.tuples(st.just("json"), st.tuples(st.sampled_from(sorted(JSON_FIELDS)),
                                         st.integers(0, 20), JSON_VALUES, st.booleans())),
)


def edit(arrays, change):
    kind, arg = change
    arrays = dict(arrays)
    if kind != "extra" and (arg if kind == "delete" else arg[0]) not in arrays:
        return arrays                                          # deleted by an earlier edit
    if kind == "delete":
        arrays.pop(arg)
    elif kind in ("replace", "extra"):
        arrays[arg[0]] = arg[1]
    elif kind == "values":
        key, value, position = arg
        a = arrays[key].copy()
        if a.size:
            with np.errstate(invalid="ignore", over="ignore"):
                try:
                    a.flat[position % a.size] = value
                except (ValueError, OverflowError):          # NaN into an int array
                    return arrays
        arrays[key] = a
    else:
        key, field, value, drop = arg
        try:
            record = json.loads(str(arrays[key]))
        except ValueError:
            record = None
        if not isinstance(record, dict):
            return arrays                                      # replaced by an earlier edit
        field = JSON_FIELDS[key][field % len(JSON_FIELDS[key])]
        if drop:
            record.pop(field, None)
        else:
            record[field] = value
        arrays[key] = np.array(json.dumps(record))
    return arrays


@settings(SETTINGS, max_examples=150)
@given(changes=st.lists(EDIT, min_size=1, max_size=2))
def test_edited_checkpoint_is_refused_by_name_or_usable(changes):
    arrays = GOOD_ARRAYS
    for change in changes:
        arrays = edit(arrays, change)
    path = write_tampered(arrays)
    try:
        ckpt = load_checkpoint(path)
    except CheckpointError as exc:
        assert str(exc).startswith(f"{path}: ")
        return
    usable(ckpt)


class _Payload:
    """Unpickling this would create a folder: the loader must never unpickle."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (self.marker,)


@settings(SETTINGS, max_examples=20)
@given(key=st.sampled_from(KEYS + ["checksum", "extra"]), shape=st.sampled_from([(), (1,), (2,)]))
def test_pickle_carrying_checkpoint_is_refused_without_unpickling(key, shape):
    marker = WORK / f"unpickled-{key}"
    payload = np.empty(shape, dtype=object)
    payload[...] = _Payload(str(marker))
    arrays = dict(GOOD_ARRAYS, **{key: payload})
    path = WORK / "pickle.npz"
    np.savez(path, **arrays)                  # (no valid checksum can be made for it)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert str(info.value).startswith(f"{path}: ")
    assert not marker.exists()


# --- optimizers ---------------------------------------------------------------------------
SHAPES = st.lists(st.tuples(st.integers(1, 4), st.integers(1, 4)), min_size=1, max_size=3)


def reference_update(name, p, g, state, lr, steps):
    """The documented update rules, written out again (float64)."""
    if name == "sgd":
        return p - lr * g, state
    if name == "adagrad":
        mem = state["mem"] + g * g
        return p - lr * g / np.sqrt(mem + 1e-8), {"mem": mem}
    m = 0.9 * state["m"] + 0.1 * g
    v = 0.999 * state["v"] + 0.001 * g * g
    m_hat, v_hat = m / (1 - 0.9 ** steps), v / (1 - 0.999 ** steps)
    return p - lr * m_hat / (np.sqrt(v_hat) + 1e-8), {"m": m, "v": v}


@SETTINGS
@given(name=st.sampled_from(sorted(OPTIMIZERS)), shapes=SHAPES, seed=st.integers(0, 1000),
       lr=st.floats(1e-4, 1.0), n_steps=st.integers(1, 4))
def test_optimizer_steps_follow_their_rule(name, shapes, seed, lr, n_steps):
    rng = np.random.default_rng(seed)
    params = {f"p{i}": rng.normal(size=s) for i, s in enumerate(shapes)}
    want = {k: v.copy() for k, v in params.items()}
    slots = {"sgd": (), "adagrad": ("mem",), "adam": ("m", "v")}[name]
    states = {k: {s: np.zeros_like(v) for s in slots} for k, v in params.items()}
    optimizer = make_optimizer(name, params, lr)
    for step in range(1, n_steps + 1):
        grads = {k: rng.normal(size=v.shape) for k, v in params.items()}
        optimizer.step(grads)
        for k, p in want.items():
            want[k], states[k] = reference_update(name, p, grads[k], states[k], lr, step)
    for k, p in params.items():
        np.testing.assert_allclose(p, want[k], rtol=1e-12, atol=1e-14)
    restored = make_optimizer(name, {k: v.copy() for k, v in params.items()}, lr)
    restored.load_state_dict(optimizer.state_dict())
    for key, value in optimizer.state_dict().items():
        np.testing.assert_array_equal(restored.state_dict()[key], value)


@SETTINGS
@given(name=st.sampled_from(sorted(OPTIMIZERS)), shapes=SHAPES, which=st.integers(0, 2),
       bad=st.sampled_from(["shape", "dtype", "missing", "list", "scalar"]))
def test_optimizer_refuses_gradients_unlike_its_parameters(name, shapes, which, bad):
    params = {f"p{i}": np.ones(s) for i, s in enumerate(shapes)}
    key = f"p{which % len(shapes)}"
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    grads[key] = {"shape": np.zeros((1,)), "dtype": np.zeros(params[key].shape, np.float32),
                  "list": np.zeros(params[key].shape).tolist(), "scalar": 0.0,
                  "missing": None}[bad]
    if bad == "missing":
        del grads[key]
    optimizer = make_optimizer(name, params, 0.1)
    before = optimizer.state_dict()
    with pytest.raises(ValueError, match=f"gradient '{key}'"):
        optimizer.step(grads)
    assert all(np.all(p == 1) for p in params.values())          # nothing was updated
    for k, v in optimizer.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


@SETTINGS
@given(name=st.sampled_from(sorted(OPTIMIZERS)),
       lr=st.sampled_from([0, -1, np.nan, np.inf, "0.1", True, [0.1]]))
def test_optimizer_refuses_a_bad_learning_rate(name, lr):
    with pytest.raises(ValueError, match="learning rate"):
        make_optimizer(name, {"p": np.ones(2)}, lr)


@SETTINGS
@given(shapes=SHAPES, seed=st.integers(0, 1000),
       max_norm=st.one_of(st.floats(1e-100, 10), st.just(math.inf), st.none(),
                          st.integers(0, 3)))
def test_clip_grad_norm(shapes, seed, max_norm):
    rng = np.random.default_rng(seed)
    grads = {f"g{i}": rng.normal(size=s) * rng.choice([1e-3, 1, 1e3]) for i, s in
             enumerate(shapes)}
    before = {k: v.copy() for k, v in grads.items()}
    norm = clip_grad_norm(grads, max_norm)
    flat = np.concatenate([v.ravel() for v in before.values()])
    assert norm == pytest.approx(np.linalg.norm(flat), rel=1e-12)
    after = np.concatenate([v.ravel() for v in grads.values()])
    if max_norm is None or norm <= max_norm:
        np.testing.assert_array_equal(after, flat)
    else:                                      # one common factor: the direction is kept
        assert np.linalg.norm(after) == pytest.approx(max_norm, rel=1e-12, abs=1e-300)
        np.testing.assert_allclose(after, flat * (max_norm / norm), rtol=1e-12)


@SETTINGS
@given(max_norm=st.sampled_from([-1, -1e-9, np.nan, -np.inf, "5", [5.0], True, complex(1, 0)]))
def test_clip_grad_norm_refuses_a_bad_max_norm(max_norm):
    grads = {"g": np.ones(3)}
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm(grads, max_norm)
    np.testing.assert_array_equal(grads["g"], np.ones(3))


# --- sampling -----------------------------------------------------------------------------
TOKENIZER = CharTokenizer("abcdef ")
MODEL = normrnn.NormRNN(TOKENIZER.vocab_size, 6, seed=3)


@SETTINGS
@given(title=st.text(max_size=10), max_tokens=st.integers(0, 25), seed=st.integers(0, 2**32),
       temperature=st.one_of(st.floats(1e-300, 1e6), st.integers(1, 3)))
def test_sample_draws_valid_tokens_reproducibly(title, max_tokens, seed, temperature):
    prefix = TOKENIZER.encode_title(title)
    tokens = sample_tokens(MODEL, prefix, max_tokens=max_tokens, temperature=temperature,
                           seed=seed)
    assert len(tokens) <= max_tokens
    assert all(0 <= t < MODEL.vocab_size and t != EOT for t in tokens)
    assert sample_tokens(MODEL, prefix, max_tokens=max_tokens, temperature=temperature,
                         seed=seed) == tokens
    assert sample(MODEL, TOKENIZER, title, max_tokens=max_tokens, temperature=temperature,
                  seed=seed) == TOKENIZER.decode(tokens)


BAD_SAMPLE_ARGS = {
    "title": [None, 5, b"ab", ["a"]],
    "max_tokens": [-1, 2.5, "3", None, True],
    "temperature": [0, -1.0, np.nan, np.inf, "1", None],
    "seed": [-1, 1.5, "x"],
}


@SETTINGS
@given(argument=st.sampled_from(sorted(BAD_SAMPLE_ARGS)), index=st.integers(0, 10))
def test_sample_refuses_bad_arguments_by_name(argument, index):
    values = BAD_SAMPLE_ARGS[argument]
    kwargs = {"title": "ab", "max_tokens": 5, "temperature": 1.0, "seed": 0,
              argument: values[index % len(values)]}
    title = kwargs.pop("title")
    with pytest.raises(CLEAR) as info:
        sample(MODEL, TOKENIZER, title, **kwargs)
    assert argument in str(info.value)


@SETTINGS
@given(V=st.integers(1, 20).filter(lambda v: v != TOKENIZER.vocab_size))
def test_sample_refuses_a_model_and_tokenizer_that_do_not_match(V):
    with pytest.raises(ValueError, match="vocab_size"):
        sample(normrnn.NormRNN(V, 3, seed=0), TOKENIZER, "ab", max_tokens=3, seed=0)


# --- gradient checks ----------------------------------------------------------------------
@settings(SETTINGS, max_examples=30)
@given(name=st.sampled_from(gradcheck.SECTIONS), seed=st.integers(0, 2**32),
       dtype=st.sampled_from([np.float64, np.float32]))
def test_every_section_passes_its_check_for_any_seed(name, seed, dtype):
    errors = gradcheck.check_section(name, dtype=dtype, seed=seed)
    assert errors and all(e <= gradcheck.TOLERANCES[np.dtype(dtype)] for e in errors.values())


@SETTINGS
@given(name=st.one_of(st.text(max_size=8), st.none(), st.integers()),
       number=st.one_of(st.integers(-3, 15), st.none(), st.text(max_size=2)))
def test_gradcheck_refuses_unknown_sections_and_errata(name, number):
    if name not in gradcheck.SECTIONS:
        with pytest.raises(ValueError, match="name must be one of"):
            gradcheck.check_section(name)
    if number not in range(1, 13):
        with pytest.raises(ValueError, match="number must be 1 to 12"):
            gradcheck.check_erratum(number)


@SETTINGS
@given(a=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=6),
       b=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=6))
def test_relative_error(a, b):
    if len(a) != len(b):
        with pytest.raises(ValueError, match="shapes differ"):
            gradcheck.relative_error(a, b)
        return
    got, want = np.array(a), np.array(b)
    scale = np.abs(want).max()
    expected = np.abs(got - want).max() / scale if scale > 0 else np.abs(got - want).max()
    assert gradcheck.relative_error(a, b) == pytest.approx(expected, rel=1e-15)


# --- configurations -----------------------------------------------------------------------
@SETTINGS
@given(changes=st.dictionaries(st.sampled_from(sorted(JSON_FIELDS["config"]) + ["unknown"]),
                               JSON_VALUES, max_size=3))
def test_config_from_json_is_valid_or_refused(changes):
    record = dict(json.loads(TrainConfig().to_json()), **changes)
    try:
        config = TrainConfig.from_json(json.dumps(record))
    except CLEAR as exc:
        assert any(k in str(exc) for k in changes), str(exc)
        return
    assert "unknown" not in changes
    assert TrainConfig.from_json(config.to_json()) == config
    assert config.learning_rate > 0 and math.isfinite(config.learning_rate)
