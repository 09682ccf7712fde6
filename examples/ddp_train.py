"""Train normrnn's PyTorch model with DistributedDataParallel, on two CPU processes.

    python examples/ddp_train.py                 # 2 processes, 5 SGD steps, seconds
    python examples/ddp_train.py --steps 20 --world-size 2 --batch 8 --out params.npz

Each process (a *rank*) builds the same model (:func:`normrnn.torch.to_torch`
of a seeded :class:`normrnn.NormRNN`) and wraps it in
``torch.nn.parallel.DistributedDataParallel`` over the ``gloo`` backend (CPU).
Every step draws a global batch of ``world_size x batch`` documents of the
embedded corpus (standard-library docstrings, :func:`normrnn.data.default_corpus`,
cut to ``--length`` tokens); rank r takes documents r, r + world_size, ...,
pads them (:func:`normrnn.torch.pad_documents`) and computes their summed loss
through the whole batch at once; ``backward()`` then averages the gradients
over the ranks, and every rank takes the same SGD step.  At the end the ranks
gather each other's parameters and check that they are identical (bitwise),
which is what DDP promises; the exit status is 1 if not.

``--out`` saves the trained parameters (NumPy ``.npz``, the names of
:attr:`normrnn.NormRNN.parameter_names`), and :func:`schedule` gives the
global batches, so the run can be compared with normrnn's own SGD on the same
batches (``tests/test_ddp_example.py`` does: equal to float64 round-off).
"""

import argparse
import os
import sys
import tempfile

import numpy as np


def schedule(*, steps, world_size, batch, length, seed=0):
    """The vocabulary size and the global batch of every step.

    Parameters
    ----------
    steps, world_size, batch : int
        Steps; processes; documents per process and step.
    length : int
        Documents are cut to their first ``length`` tokens.
    seed : int, optional
        Seed of the draw.

    Returns
    -------
    vocab_size : int
    batches : list of list of (ndarray of int32, int)
        ``steps`` global batches of ``world_size * batch`` (tokens,
        title_length) pairs: rank r takes ``batches[step][r::world_size]``.
    """
    from normrnn.data import CharTokenizer, default_corpus

    corpus = default_corpus()
    tokenizer = CharTokenizer.from_documents(corpus)
    documents = []
    for document in corpus:
        tokens, title_length = tokenizer.encode_document(document)
        documents.append((tokens[:length], min(title_length, length)))
    rng = np.random.default_rng(seed)
    batches = [[documents[i] for i in rng.choice(len(documents), world_size * batch,
                                                 replace=False)] for _ in range(steps)]
    return tokenizer.vocab_size, batches


def train(rank, world_size, rendezvous, args):
    """One rank: DDP training, then the check that every rank holds the same parameters.

    The ranks meet through the file ``rendezvous`` (a ``FileStore``: no TCP
    port has to be found free first).  Returns True if the parameters agree
    (every rank returns the same verdict).
    """
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    import normrnn
    from normrnn.torch import pad_documents, to_torch

    torch.set_num_threads(1)                       # one core per process
    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank,
                            world_size=world_size)
    try:
        vocab_size, batches = schedule(steps=args.steps, world_size=world_size,
                                       batch=args.batch, length=args.length, seed=args.seed)
        module = to_torch(normrnn.NormRNN(vocab_size, args.hidden, seed=args.seed))
        model = DistributedDataParallel(module)    # also broadcasts rank 0's parameters
        optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
        for step, documents in enumerate(batches):
            tokens, lengths, title_lengths = pad_documents(documents[rank::world_size])
            optimizer.zero_grad()
            loss = model(tokens, title_lengths, lengths=lengths)
            loss.backward()                        # gradients averaged over the ranks
            optimizer.step()
            total = loss.detach().clone()
            dist.all_reduce(total)                 # the global batch's loss, for the log
            if rank == 0:
                print(f"step {step + 1}: loss {total.item():.1f} nats, summed over "
                      f"{world_size} x {len(lengths)} documents", flush=True)

        flat = torch.cat([p.detach().reshape(-1) for p in module.parameters()])
        every = [torch.empty_like(flat) for _ in range(world_size)]
        dist.all_gather(every, flat)
        identical = all(torch.equal(other, every[0]) for other in every)
        if rank == 0:
            print(f"ranks end with identical parameters: {'yes' if identical else 'NO'}")
            if args.out:
                np.savez(args.out, **{name: p.detach().numpy()
                                      for name, p in module.named_parameters()})
        # tear down together: the DDP wrapper first, then the group, only when
        # every rank is here (a rank that closes its connections while another
        # still saves was seen to abort gloo's threads in the other)
        del model, optimizer
        dist.barrier()
    finally:
        dist.destroy_process_group()
    return identical


def _rank(rank, world_size, rendezvous, args):
    """The process of one rank: :func:`train`, then an exit without the interpreter's teardown.

    DDP's reducer keeps the process group alive past ``destroy_process_group``
    (it is held from C++, out of the garbage collector's reach), so its gloo
    threads would be destroyed by the interpreter's exit, after the atexit
    handlers; that was seen to abort a rank (SIGABRT, "terminate called without
    an active exception") whose work was done and checked.  The rank flushes
    what it printed and leaves with ``os._exit``: 0 if the ranks agree, else 1.
    An exception in :func:`train` propagates as usual (the parent reports it).
    """
    identical = train(rank, world_size, rendezvous, args)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0 if identical else 1)


def main(argv=None):
    """Parse the options and run ``--world-size`` processes; 0 if their parameters agree."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--world-size", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--steps", type=int, default=5, help="SGD steps (default 5)")
    parser.add_argument("--batch", type=int, default=4,
                        help="documents per process and step (default 4)")
    parser.add_argument("--length", type=int, default=128,
                        help="documents cut to this many tokens (default 128)")
    parser.add_argument("--hidden", type=int, default=32, help="H (default 32)")
    parser.add_argument("--lr", type=float, default=1e-3, help="SGD learning rate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="save the trained parameters to this .npz file")
    args = parser.parse_args(argv)
    for name in ("world_size", "steps", "batch", "hidden"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.length < 2:
        parser.error("--length must be at least 2 (a token and the next one to predict)")
    if not 0 < args.lr < float("inf"):
        parser.error("--lr must be a positive number")
    if args.out and not os.path.isdir(os.path.dirname(os.path.abspath(args.out))):
        parser.error(f"--out: the folder of {args.out!r} does not exist")
    from normrnn.data import default_corpus

    documents = len(default_corpus())
    if args.world_size * args.batch > documents:
        parser.error(f"--world-size x --batch must be at most {documents}, "
                     "the documents of the embedded corpus")

    import torch.multiprocessing as mp

    with tempfile.TemporaryDirectory(prefix="ddp_train_") as scratch:
        try:
            mp.spawn(_rank, args=(args.world_size, os.path.join(scratch, "rendezvous"), args),
                     nprocs=args.world_size, join=True)
        except mp.ProcessExitedException as exc:
            print(f"ddp_train: a rank failed ({exc})", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
