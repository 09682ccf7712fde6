"""The model in JAX as a practitioner writes it for this job: ``jit`` over ``lax.scan``.

Every document of the benchmark's batch has the same length T and title
length m, so nothing is masked or padded.  The input product is taken once
per vocabulary row, ``f(E) W_ih^T + b`` (V, H), and gathered per position;
the recurrence is a ``lax.scan`` over positions carrying the (B, H) states;
the logits of the scored positions are one product; and
``jax.jit(jax.value_and_grad(loss), static_argnums=2)`` compiles it for the
batch's shapes.  The benchmark checks its loss and gradients against
normrnn's before timing it (:mod:`normrnn.bench.peers`).  JAX is imported
only when these functions are called.
"""

from ..reference import activation

__all__ = ["loss", "value_and_grad"]


def loss(params, tokens, title_length):
    """Summed loss of B documents of the same length and title length (fixed gain 1/H).

    Parameters
    ----------
    params : tuple
        ``(embedding, ih, hh, bias)``, shapes (V, H), (H, H), (H, H), (H,).
    tokens : jax.Array of int, shape (B, T)
        Every document's token ids, T >= 2.
    title_length : int
        m, the same for every document (static under ``jit``).

    Returns
    -------
    jax.Array
        The scalar sum over documents and positions m <= t < T of
        -log softmax(E s_t)[x_t].
    """
    import jax
    import jax.numpy as jnp

    embedding, ih, hh, bias = params
    H = hh.shape[1]
    scaled_hh = hh / (H * jnp.linalg.norm(hh, axis=1, keepdims=True))
    table = activation(embedding) @ ih.T + bias                     # (V, H)
    inputs = table[tokens[:, :-1].T]                                # (T - 1, B, H)

    def step(state, step_input):
        state = activation(state @ scaled_hh.T + step_input)
        return state, state

    first = jnp.zeros((tokens.shape[0], H), embedding.dtype)
    _, later = jax.lax.scan(step, first, inputs)                    # (T - 1, B, H)
    states = jnp.concatenate([first[None], later], 0)[title_length:]   # (T - m, B, H)
    log_p = jax.nn.log_softmax(states @ embedding.T, axis=-1)
    return -jnp.sum(jnp.take_along_axis(log_p, tokens.T[title_length:, :, None], axis=-1))


def value_and_grad():
    """``jax.jit(jax.value_and_grad(loss))``, ``title_length`` static, float64 enabled.

    Call it before making the parameters into JAX arrays: until float64 is
    enabled, ``jax.numpy.asarray`` makes float64 arrays float32.

    Returns
    -------
    callable
        ``(params, tokens, title_length) -> (loss, grads)``, grads a tuple
        shaped like ``params``.
    """
    import jax

    jax.config.update("jax_enable_x64", True)      # float64 parameters stay float64
    return jax.jit(jax.value_and_grad(loss), static_argnums=2)
