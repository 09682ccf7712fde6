"""What the benchmark times: one training step of each implementation, and a gemm.

Every step function computes the loss of one document and all of its
gradients from scratch, as a learner's training loop would call it, and
returns ``(loss, [d_embedding, d_ih, d_hh, d_bias])`` so the benchmark can
check that they all compute the same thing before it times them.
"""

import importlib.util

import numpy as np

from .. import reference
from .._kernels import bptt_by_section, matvec_probe as _testing
from ..model import Grads

LABELS = {
    "normrnn": "normrnn (fast BPTT)",
    "by_section": "normrnn, per token by section",
    "numpy": "NumPy per token (learner's)",
    "torch": "PyTorch eager, one document",
    "torch_per_token": "PyTorch per token (learner's)",
}
"""Readable names of the implementations, in table order.

The per-token NumPy and PyTorch versions are what a learner writes after the
notes; "PyTorch eager, one document" moves the input and logit products out
of the loop (batched over positions, not documents: the peers,
:mod:`~normrnn.bench.peers`, batch documents).
"""


def flops_per_token(vocab_size, hidden_size):
    """Floating-point operations of one token of a training step, 12 H^2 + 6 V H.

    Six products with an (H, H) matrix (S s and W_ih u forward; S^T delta,
    W_ih^T delta and the outer products into dS and dW_ih backward) and three
    with the (V, H) embedding (the logits E s, E^T dz and dz ⊗ s), two FLOPs
    per multiply-add.  The elementwise work (activations, softmax) is left out.

    Parameters
    ----------
    vocab_size, hidden_size : int
        V and H.

    Returns
    -------
    int
    """
    return 12 * hidden_size ** 2 + 6 * vocab_size * hidden_size


def flops_done(vocab_size, hidden_size, length, title_length):
    """Floating-point operations normrnn's batch kernel does for one document, by kind.

    The FLOPs normrnn really does, where :func:`flops_per_token` counts the
    model's, two FLOPs per multiply-add, for a document of T tokens whose
    first m are its title:

    * ``"step products"``: S s_t at each of the T - 1 steps forward, and
      S^T delta_t at T - 2 of them backward (the last step's delta has no
      product before it), 2 H^2 each;
    * ``"loss products"``: the three products with the (V, H) embedding,
      the logits E s_t, E^T dz_t and dz_t ⊗ s_t, at each of the T - m scored
      positions, 2 V H each;
    * ``"parameter sums"``: dS, the sum of delta_t ⊗ s_t over the T - 1
      steps, 2 H^2 each.

    The input products W_ih f(E[x]), dW_ih and W_ih^T delta run once per
    distinct token of a batch (at most V), not per position, and are left
    out, as is the elementwise work.

    Parameters
    ----------
    vocab_size, hidden_size, length, title_length : int
        V, H, T and m.

    Returns
    -------
    dict
        Kind -> FLOPs, as ints.
    """
    V, H, T, m = vocab_size, hidden_size, length, title_length
    return {"step products": 2 * H * H * (max(T - 1, 0) + max(T - 2, 0)),
            "loss products": 6 * V * H * max(T - m, 0),
            "parameter sums": 2 * H * H * max(T - 1, 0)}


def flops_done_per_token(vocab_size, hidden_size, length, title_length):
    """The FLOPs of :func:`flops_done` summed, per token of the document.

    About 6 H^2 + 6 V H for long documents and short titles: 166,912 at
    V = 96, H = 128, T = 256, m = 16, against 172,032.

    Parameters
    ----------
    vocab_size, hidden_size, length, title_length : int
        V, H, T and m.

    Returns
    -------
    float
    """
    return sum(flops_done(vocab_size, hidden_size, length, title_length).values()) / length


def torch_available():
    """Whether :mod:`torch` can be imported (checked without importing it).

    Returns
    -------
    bool
    """
    return importlib.util.find_spec("torch") is not None


def torch_loss(embedding, ih, hh, bias, tokens, title_length):
    """The model's loss in PyTorch, batched wherever the maths allows: the package's own.

    :func:`normrnn.torch.padded_loss` on a batch of one document: the inputs
    W_ih f(E[x_t]) + b of all steps are one matrix product before the loop,
    and the logits of all positions one after it; only the recurrence
    s_{t+1} = f(S s_t + ...) runs per token, one ``addmm`` each.  This is the
    faster of the two PyTorch versions, the one a PyTorch user who batches
    what can be batched would write; the benchmark holds it to the same 13x
    goal on a line of its own.  (The peers part times the same function on B
    documents at once, eager and through ``torch.compile``.)

    Parameters
    ----------
    embedding, ih, hh, bias : torch.Tensor
        The parameters, shapes (V, H), (H, H), (H, H), (H,).
    tokens : torch.Tensor of int64, shape (T,)
        The document x_0 .. x_{T-1}.
    title_length : int
        m: positions t < m carry no loss.

    Returns
    -------
    torch.Tensor
        The summed loss, a scalar: ``loss.backward()`` fills the gradients.
    """
    import torch

    from ..torch import padded_loss

    tokens = torch.as_tensor(tokens, dtype=torch.int64)
    return padded_loss(embedding, ih, hh, bias, None, tokens[None],
                       torch.tensor([len(tokens)]), torch.tensor([title_length]))


def torch_loss_per_token(embedding, ih, hh, bias, tokens, title_length, initial_state=None):
    """The model's loss in PyTorch, one token at a time, as the docs' *Model* page states it.

    The learner's version: the loop of the notes' "thoughts" (logits, loss,
    next state, token after token), with autograd for the backward pass.
    normrnn's 13x goal over PyTorch eager refers to this one, and the test
    suite checks normrnn's gradients against its autograd.

    Parameters
    ----------
    embedding, ih, hh, bias : torch.Tensor
        As in :func:`torch_loss`.
    tokens : sequence of int
        The document x_0 .. x_{T-1}.
    title_length : int
        m: positions t < m carry no loss.
    initial_state : array_like, shape (H,), optional
        s_0; zero by default.  No gradient flows into it.

    Returns
    -------
    torch.Tensor
        The summed loss, a scalar.
    """
    import torch

    H = hh.shape[1]
    scaled_hh = hh / (H * torch.linalg.norm(hh, dim=1, keepdim=True))
    state = (torch.zeros(H, dtype=embedding.dtype) if initial_state is None
             else torch.as_tensor(initial_state, dtype=embedding.dtype))
    loss = torch.zeros((), dtype=embedding.dtype)
    for t, token in enumerate(tokens):
        if t >= title_length:
            loss = loss - torch.log_softmax(embedding @ state, dim=0)[token]
        if t < len(tokens) - 1:
            a = scaled_hh @ state + ih @ reference.activation(embedding[token]) + bias
            state = reference.activation(a)
    return loss


def _torch_step(model, title_length, loss_function, tokens):
    import torch

    params = [torch.tensor(p, requires_grad=True) for p in model.parameters().values()]

    def step():
        for p in params:
            p.grad = None
        loss = loss_function(*params, tokens, title_length)
        loss.backward()
        return loss.item(), [np.zeros(tuple(p.shape)) if p.grad is None else p.grad.numpy()
                             for p in params]
    return step


def step_functions(model, tokens, title_length, *, use_torch=True):
    """One training step of every implementation, as functions of no argument.

    Parameters
    ----------
    model : NormRNN
        Its parameters are used by every implementation (PyTorch copies them).
    tokens : array_like of int
        The document x_0 .. x_{T-1}.
    title_length : int
        m: positions t < m carry no loss.
    use_torch : bool, optional
        Include the PyTorch versions (when torch is installed).

    Returns
    -------
    dict
        Name (a key of :data:`LABELS`) -> function returning
        ``(loss, [d_embedding, d_ih, d_hh, d_bias])``.
    """
    tokens = np.ascontiguousarray(tokens, dtype=np.int32)
    token_list = tokens.tolist()
    params = list(model.parameters().values())
    zero = np.zeros(model.hidden_size, dtype=model.dtype)

    def fast():
        loss, grads = model.loss_and_grads(tokens, title_length)
        return loss, [g for _, g in grads.items()]

    def by_section():
        grads = Grads.zeros_like(model)
        states = np.empty((len(tokens), model.hidden_size), dtype=model.dtype)
        loss = bptt_by_section.document_loss_and_grads_by_section(
            *params, tokens, title_length, zero,
            grads.embedding, grads.ih, grads.hh, grads.bias, states)
        return loss, [g for _, g in grads.items()]

    def numpy_reference():
        loss, grads = reference.loss_and_grads(*params, token_list, title_length)
        return loss, list(grads.values())

    functions = {"normrnn": fast, "by_section": by_section, "numpy": numpy_reference}
    if use_torch and torch_available():
        import torch

        functions["torch"] = _torch_step(model, title_length, torch_loss,
                                         torch.as_tensor(tokens, dtype=torch.int64))
        functions["torch_per_token"] = _torch_step(model, title_length,
                                                   torch_loss_per_token, token_list)
    return functions


def sequential_functions(hidden_size, length, dtype, *, seed=0):
    """The sequential part of one document alone: 2 (T-1) dependent products y = M^T x.

    One training step runs T-1 such products forward (S s_t) and T-1
    backward (S^T delta_t), each waiting for the one before it.  ``M`` is a
    random orthogonal matrix (it keeps the norm of x, so the chain stays in
    range), stored on a cache line as the kernel's S is.

    Parameters
    ----------
    hidden_size, length : int
        H and T.
    dtype : numpy.float64 or numpy.float32
    seed : int, optional
        Seed of the matrix.

    Returns
    -------
    dict
        ``"matvec"`` (the kernel of ``matvec.h`` the fast BPTT runs) and
        ``"gemv"`` (BLAS gemv instead) -> function of no argument.
    """
    rng = np.random.default_rng(seed)
    q = np.linalg.qr(rng.standard_normal((hidden_size, hidden_size)))[0]
    matrix = _testing.aligned_empty(q.shape, dtype)
    matrix[...] = q
    xs = np.zeros((2 * (length - 1) + 1, hidden_size), dtype=dtype)
    xs[0] = rng.standard_normal(hidden_size)
    return {"matvec": lambda: _testing.sequential_products(matrix, xs),
            "gemv": lambda: _testing.sequential_products(matrix, xs, blas=True)}


def gemm_function(n, dtype, *, seed=0):
    """A square product C = A B of size ``n`` by SciPy's BLAS, the one the kernels call.

    Parameters
    ----------
    n : int
        Size of the square matrices.
    dtype : numpy.float64 or numpy.float32
        Chooses dgemm or sgemm.
    seed : int, optional
        Seed of the random matrices.

    Returns
    -------
    function
        Runs one product, 2 n^3 FLOPs, into a preallocated C.
    """
    from scipy.linalg import blas

    gemm = blas.dgemm if np.dtype(dtype) == np.float64 else blas.sgemm
    rng = np.random.default_rng(seed)
    a, b = (np.asfortranarray(rng.standard_normal((n, n)), dtype=dtype) for _ in range(2))
    c = np.zeros((n, n), dtype=dtype, order="F")

    def product():
        gemm(1.0, a, b, beta=0.0, c=c, overwrite_c=True)
    return product
