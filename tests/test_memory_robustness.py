"""No leak on the other paths: the rest of the model API, and calls that are refused.

tests/test_memory.py checks 10,000 calls of ``loss_and_grads``.  A refused
call builds an exception (with a traceback that holds frames); a leak there
would grow a learner's notebook session one error at a time.
"""


import numpy as np
from helpers import make_model, traced_growth

TOKENS = [1, 3, 3, 0, 6, 2, 1, 3, 5, 4, 4]
# a leak of one small object per call would be >= 5,000 * 50 bytes = 250 kB; allow
# a few kB of interpreter noise (the bound of tests/test_memory.py)
NOISE = 20_000


def test_refused_calls_do_not_grow_memory():
    model = make_model()
    bad_param = make_model()
    bad_param.hh[2] = np.nan
    state = np.zeros(5)
    refusals = [
        lambda: model.loss_and_grads([1, 99], 0),                   # token out of range
        lambda: model.loss_and_grads(TOKENS, 20),                    # title_length > T
        lambda: model.loss_and_grads("abc", 0),                      # not token ids
        lambda: model.loss_and_grads(TOKENS, 0, initial_state=np.zeros(4)),
        lambda: bad_param.loss_and_grads(TOKENS, 2),                 # NaN parameter
        lambda: model.next_state(state, -1),
        lambda: model.probabilities(state, temperature=0.0),
        lambda: model.batch_loss_and_grads([(TOKENS, 2), ([7], 0)], n_threads=2),
    ]

    def refused(i):
        try:
            refusals[i % len(refusals)]()
        except (TypeError, ValueError):
            return
        raise AssertionError("accepted bad input")

    growth = traced_growth(refused, 10_000)     # refused before any kernel: cheap
    assert growth < NOISE, f"traced Python memory grew by {growth} bytes"


def test_the_rest_of_the_api_does_not_grow_memory():
    model = make_model()
    state = model.states(TOKENS)[-1]
    calls = [
        lambda: model.loss(TOKENS, 2),
        lambda: model.states(TOKENS),
        lambda: model.next_state(state, 3),
        lambda: model.probabilities(state, temperature=0.7),
        lambda: model.loss_and_grads(TOKENS, 2, initial_state=state, return_last_state=True),
    ]
    growth = traced_growth(lambda i: calls[i % len(calls)](), 5_000)
    assert growth < NOISE, f"traced Python memory grew by {growth} bytes"


def test_threaded_batches_do_not_grow_memory():
    model = make_model()
    docs = [(TOKENS, 2), (TOKENS[:4], 0), (TOKENS[::-1], 3)]
    growth = traced_growth(lambda i: model.batch_loss_and_grads(docs, n_threads=1 + i % 2),
                           2_000)
    assert growth < NOISE, f"traced Python memory grew by {growth} bytes"
