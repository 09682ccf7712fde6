"""The files ``normrnn exercise start`` writes: one blank function per exercise.

Each skeleton has the signature of its reference twin, a docstring with the
shapes and a hint for the derivation, a link to the section's docs page, and
a body that raises ``NotImplementedError``.  A pytest file comes with them.

The exercise notebooks of the docs (``tutorials/exercises/``) repeat each
skeleton's signature, docstring and hint, so that a notebook reads on its
own; ``tests/test_exercise_notebooks.py`` keeps the two equal.

The links are ``<docs>/sections/<name>.html`` (``<docs>/bptt.html`` for the
whole document), written into each skeleton as data (a string literal made
by ``repr``, never pasted into source), so that no base can break or inject
code.  ``<docs>`` is, in this order (see :func:`docs_base`): the
``--docs-url`` given to ``normrnn exercise start``; the environment variable
``NORMRNN_DOCS_URL``; a build of the documentation found next to the
package's source tree or in the current folder (``docs/_build/html``), as a
``file://`` URL; else :data:`UNBUILT_DOCS`, the place inside a source
checkout where ``python -m sphinx docs docs/_build/html`` puts the docs.
``start`` says which.
"""

import os
import textwrap
from pathlib import Path

from .cases import BEYOND, EXERCISES
from .grading import function_name

__all__ = ["SKELETONS", "TEST_FILE", "UNBUILT_DOCS", "built_docs", "docs_base",
           "docs_url", "skeleton", "test_file"]

#: Where the skeletons' links point when no base is given and no docs build is
#: found: the folder of a normrnn source checkout that the docs build writes.
UNBUILT_DOCS = "docs/_build/html"

#: Where a docs build lies inside a source tree.
BUILD = Path("docs", "_build", "html")

#: Exercise -> (arguments, docs page, title, what to compute, shapes, hint).
SKELETONS = {
    "logits": (
        "embedding, state, token", "sections/logits", "Logits",
        "The loss -log softmax(E s)[token] and its gradients.",
        """embedding : ndarray, shape (V, H)
    E, the tied embedding.
state : ndarray, shape (H,)
    s_t.
token : int
    The target x_t, in [0, V).

Returns
-------
loss : float
d_embedding : ndarray, shape (V, H)
    d loss / d E (the logits' share only).
d_state : ndarray, shape (H,)
    d loss / d s_t.""",
        "Differentiate -log softmax(z)[x] with respect to z first: the result "
        "has a famously simple form.  Then z = E s is linear in E and in s."),
    "activation": (
        "d_state, middle", "sections/activation", "Activation",
        "The gradient through s_{t+1} = f(a_t), f(x) = 1 - 1 / (x^2 + x + 1).",
        """d_state : ndarray, shape (H,)
    g_{t+1}, d loss / d s_{t+1}.
middle : ndarray, shape (H,)
    a_t, the pre-activation.

Returns
-------
delta : ndarray, shape (H,)
    d loss / d a_t.""",
        "f acts entry by entry, so its Jacobian is diagonal.  Write f'(x) with "
        "** for powers: ^ is XOR in Python."),
    "bias": (
        "delta", "sections/bias", "Bias",
        "The bias's gradient of one step, a_t = S s_t + W_ih u_t + b.",
        """delta : ndarray, shape (H,)
    d loss / d a_t.

Returns
-------
d_bias : ndarray, shape (H,)
    d loss / d b from this step (a new array).""",
        "How does a_t change when b_i moves by a little?"),
    # "ih" and "hh" are the same linear map (W_ih u_t and S s_t): they read alike on purpose.
    "ih": (
        "ih, embedded, delta", "sections/ih", "Input to hidden",
        "The gradients of the input's part of the step, W_ih u_t.",
        """ih : ndarray, shape (H, H)
    W_ih.
embedded : ndarray, shape (H,)
    u_t = f(E[x_t]).
delta : ndarray, shape (H,)
    d loss / d a_t.

Returns
-------
d_ih : ndarray, shape (H, H)
    d loss / d W_ih from this step.
d_embedded : ndarray, shape (H,)
    d loss / d u_t.""",
        "Write a_i = sum_j (W_ih)_ij u_j and differentiate with respect to one "
        "(W_ih)_ij and one u_j.  Check the shapes: which index is summed?"),
    "embedding_activation": (
        "embedding, token, d_embedded", "sections/embedding_activation",
        "Embedding activation",
        "The embedding's gradient through u_t = f(E[x_t]).",
        """embedding : ndarray, shape (V, H)
    E.
token : int
    x_t, in [0, V).
d_embedded : ndarray, shape (H,)
    d loss / d u_t.

Returns
-------
d_embedding : ndarray, shape (V, H)
    d loss / d E from this step.""",
        "Only one row of E is read.  What is the gradient of the rows that are "
        "not?"),
    # Reads like "ih" on purpose: the same linear map, with S and s_t for W_ih and u_t.
    "hh": (
        "scaled_hh, state, delta", "sections/hh", "Hidden to hidden",
        "The gradients of the recurrent part of the step, S s_t.",
        """scaled_hh : ndarray, shape (H, H)
    S, the row-normalised W_hh.
state : ndarray, shape (H,)
    s_t, the state the step read.
delta : ndarray, shape (H,)
    d loss / d a_t.

Returns
-------
d_scaled_hh : ndarray, shape (H, H)
    d loss / d S from this step.
d_state : ndarray, shape (H,)
    d loss / d s_t through this step (the recurrent path).""",
        "The same linear map as the input's section.  Entry s_j feeds every "
        "a_i: sum over i."),
    "row_normalise": (
        "hh, d_scaled_hh", "sections/row_normalise", "Row normalisation",
        "W_hh's gradient through S[i] = hh[i] / (H ||hh[i]||).",
        """hh : ndarray, shape (H, H)
    W_hh, every row nonzero.
d_scaled_hh : ndarray, shape (H, H)
    d loss / d S, summed over all steps.

Returns
-------
d_hh : ndarray, shape (H, H)
    d loss / d W_hh.""",
        "Row i of S depends on row i of W_hh alone, and only on its direction: "
        "what must the gradient of a row be orthogonal to?"),
    "gain": (
        "hh, gain, d_scaled_hh", "sections/gain", "The gain (optional)",
        "The gradients through S[i] = gain[i] hh[i] / ||hh[i]||, a learned row length.",
        """hh : ndarray, shape (H, H)
    W_hh, every row nonzero.
gain : ndarray, shape (H,)
    gamma, any finite values (zero and negative included).
d_scaled_hh : ndarray, shape (H, H)
    d loss / d S, summed over all steps.

Returns
-------
d_hh : ndarray, shape (H, H)
    d loss / d W_hh.
d_gain : ndarray, shape (H,)
    d loss / d gamma.""",
        "S[i] is gamma_i times a unit vector.  The gain takes the part of dS[i] along "
        "that vector; the row normalisation's answer, with gamma_i for 1/H, takes the rest."),
    "loss_and_grads": (
        "embedding, ih, hh, bias, tokens, title_length", "bptt",
        "Backpropagation through time",
        "The whole document: the loss and every parameter's gradient, by BPTT.",
        """embedding, ih, hh, bias : ndarray
    E (V, H), W_ih (H, H), W_hh (H, H), b (H,).
tokens : list of int
    x_0 .. x_{T-1}.
title_length : int
    m: positions t < m are not scored.

The forward: s_0 = 0, s_{t+1} = f(S s_t + W_ih f(E[x_t]) + b), and
L = sum over t >= m of -log softmax(E s_t)[x_t].

Returns
-------
loss : float
grads : dict
    "embedding", "ih", "hh", "bias": d L / d each, shaped like it.""",
        "Keep every state and pre-activation of the forward.  Walk back from "
        "t = T-1 to 1, carrying g_t = d L / d s_t: the logits at t add to it, "
        "the step from s_{t-1} passes it on.  Sum d S over all steps and put it "
        "through the row normalisation once, at the end.  Your section "
        "functions can be imported and reused."),
}
SKELETONS.update({name: exercise.skeleton for name, exercise in BEYOND.items()})


def _build_roots():
    """Where a docs build may lie: the package's source tree, then the current folder."""
    return [Path(__file__).resolve().parents[2] / BUILD, Path.cwd() / BUILD]


def built_docs():
    """The folder of a docs build, if one can be found; else None.

    Looked for next to the package's source tree (a clone or an editable
    install: ``<tree>/docs/_build/html``), then in the current folder.  A
    folder counts when it holds ``bptt.html`` and ``sections/``.

    Returns
    -------
    Path or None
    """
    for root in _build_roots():
        if (root / "bptt.html").is_file() and (root / "sections").is_dir():
            return root.resolve()
    return None


def docs_base(base=None):
    """The base of the docs links, and where it came from.

    Parameters
    ----------
    base : str, optional
        A base given by the learner (``--docs-url``); it wins.

    Returns
    -------
    base : str
    source : str
        Where ``base`` came from, as ``normrnn exercise start`` says it.
    """
    if base:
        return base, "given with --docs-url"
    if os.environ.get("NORMRNN_DOCS_URL"):
        return os.environ["NORMRNN_DOCS_URL"], "from NORMRNN_DOCS_URL"
    built = built_docs()
    if built is not None:
        return built.as_uri(), "the docs built in this source tree"
    return UNBUILT_DOCS, ("no docs build found: the links name pages of a normrnn source "
                          "checkout's docs build (python -m sphinx docs docs/_build/html); "
                          "pass --docs-url or set NORMRNN_DOCS_URL to point them at one")


def docs_url(page, base=None):
    """The URL (or path) of the docs page ``page``, e.g. ``sections/hh``.

    Parameters
    ----------
    page : str
    base : str, optional
        Default: :func:`docs_base`'s choice.

    Returns
    -------
    str
    """
    base, _ = docs_base(base)
    return f"{base.rstrip('/').rstrip(chr(92))}/{page}.html"


def skeleton(name, docs=None):
    """The text of exercise ``name``'s skeleton module.

    Parameters
    ----------
    name : str
        One of :data:`normrnn.exercises.EXERCISES`.
    docs : str, optional
        Base of the docs links (see :func:`docs_url`).

    Returns
    -------
    str
    """
    args, page, title, what, shapes, hint = SKELETONS[name]
    fn = function_name(name)
    imports = "import numpy as np\n"
    doc = textwrap.indent(f"{what}\n\nParameters\n----------\n{shapes}\n\nHint\n----\n"
                          + textwrap.fill(hint, 76) + "\n\nThe derivation, step by step: "
                          f"the page \"{title}\", DOCS above.", "    ")
    # The link is data: repr makes a literal of any string, quotes and backslashes included.
    link = f"#: The derivation, step by step: \"{title}\".\nDOCS = {docs_url(page, docs)!r}\n"
    return (f'"""Exercise: {title}.\n\nWrite {fn} below, then grade it:\n\n'
            f'    normrnn exercise check . --section {name}\n"""\n\n{imports}\n{link}\n\n'
            f'def {fn}({args}):\n    """{doc.lstrip()}\n    """\n'
            f'    raise NotImplementedError("{fn}: your derivation goes here")\n')


def test_file():
    """The text of the pytest file that grades every exercise of its folder.

    Returns
    -------
    str
    """
    tests = "\n\n".join(
        f"def test_{name}():\n"
        f"    assert_gradient(\"{name}\", load_solution(HERE, \"{name}\"))"
        for name in EXERCISES)
    return f'''"""Grade every exercise of this folder: python -m pytest {TEST_FILE}

Each test fails with the grader's report: the errors of each output, and the
mistake when it matches a known one.
"""

from pathlib import Path

from normrnn.testing import assert_gradient, load_solution

HERE = Path(__file__).parent


{tests}
'''


#: The name of the pytest file written beside the skeletons.
TEST_FILE = "test_exercises.py"
