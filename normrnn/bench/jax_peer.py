"""The model in JAX, for the benchmark: ``jax.jit(jax.value_and_grad(loss))`` over ``lax.scan``.

What a JAX practitioner writes for a batch of B documents: the inputs
W_ih f(E[x_t]) + b of all positions in one product, the recurrence as a
``lax.scan`` over positions carrying the (B, H) states, the logits of all
positions in one product, a mask for the title and the padding, and
``jax.value_and_grad`` under ``jax.jit``.  The benchmark checks its loss and
gradients against normrnn's before timing it (:mod:`normrnn.bench.peers`).
JAX is imported only when :func:`value_and_grad` is called.
"""

from ..reference import activation as _activation

__all__ = ["loss", "value_and_grad"]


def loss(params, tokens, lengths, title_lengths):
    """Summed loss of a padded batch, as :func:`normrnn.torch.padded_loss` in JAX.

    Parameters
    ----------
    params : tuple
        ``(embedding, ih, hh, bias, gain)``, gain None for the fixed 1/H.
    tokens : jax.Array of int, shape (B, T)
        Token ids; past a document's length any value (replaced by 0).
    lengths, title_lengths : jax.Array of int, shape (B,)
        T_b in [1, T] and m_b in [0, T_b].

    Returns
    -------
    jax.Array
        The scalar sum over documents and scored positions of
        -log softmax(E s_t)[x_t].
    """
    import jax
    import jax.numpy as jnp

    embedding, ih, hh, bias, gain = params
    B, T = tokens.shape
    H = hh.shape[1]
    positions = jnp.arange(T)
    inside = positions < lengths[:, None]
    scored = inside & (positions >= title_lengths[:, None])
    tokens = jnp.where(inside, tokens, 0)
    norms = jnp.linalg.norm(hh, axis=1, keepdims=True)
    scaled_hh = hh / (H * norms) if gain is None else gain[:, None] * hh / norms
    inputs = _activation(embedding[tokens[:, :-1]]) @ ih.T + bias        # (B, T-1, H)

    def step(state, step_input):
        state = _activation(state @ scaled_hh.T + step_input)
        return state, state

    first = jnp.zeros((B, H), embedding.dtype)
    _, later = jax.lax.scan(step, first, jnp.swapaxes(inputs, 0, 1))   # (T-1, B, H)
    states = jnp.concatenate([first[None], later], 0)                     # (T, B, H)
    log_p = jax.nn.log_softmax(states @ embedding.T, axis=-1)
    nll = -jnp.take_along_axis(log_p, tokens.T[..., None], axis=-1)[..., 0]
    return jnp.sum(jnp.where(scored.T, nll, 0.0))


def value_and_grad():
    """``jax.jit(jax.value_and_grad(loss))``, with float64 enabled.

    Call it before making the parameters into JAX arrays: until float64 is
    enabled, ``jax.numpy.asarray`` makes float64 arrays float32.

    Returns
    -------
    callable
        ``(params, tokens, lengths, title_lengths) -> (loss, grads)``, grads
        a tuple shaped like ``params``.
    """
    import jax

    jax.config.update("jax_enable_x64", True)      # float64 parameters stay float64
    return jax.jit(jax.value_and_grad(loss))
