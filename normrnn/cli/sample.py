"""``normrnn sample``: write a text for a title, printing each character as it is drawn."""

import sys
from pathlib import Path

from .options import MAX_SAMPLE_TOKENS, NONNEG_INT, POS_FLOAT, number

__all__ = ["HELP", "configure", "run"]

HELP = "write a text for a title"


def configure(p):
    """Add the arguments of ``normrnn sample`` to the parser ``p``."""
    p.add_argument("checkpoint", type=Path, help="a checkpoint written by `normrnn train`")
    p.add_argument("--title", required=True,
                   help="the title to write a text for.  The model remembers a character "
                   "or two, so after a few characters texts for different titles (same "
                   "seed) often become the same: the title shapes mostly the start")
    p.add_argument("--max-tokens", type=number(int, zero_ok=True, at_most=MAX_SAMPLE_TOKENS),
                   default=500, help="most characters to write, at most "
                   f"{MAX_SAMPLE_TOKENS:,} (default: %(default)s)")
    p.add_argument("--temperature", type=POS_FLOAT, default=0.8,
                   help="below 1: safer, above 1: wilder (default: %(default)s)")
    p.add_argument("--seed", type=NONNEG_INT, default=None, help="same seed, same text")


def run(args):
    """Print the text as it is drawn: Ctrl-C keeps what was printed."""
    from ..training.checkpoint import load_checkpoint
    from ..training.sampling import sample_stream
    ckpt = load_checkpoint(args.checkpoint)
    characters = sample_stream(ckpt.model, ckpt.tokenizer, args.title,
                               max_tokens=args.max_tokens, temperature=args.temperature,
                               seed=args.seed)
    try:
        for character in characters:
            sys.stdout.write(character)
            sys.stdout.flush()
    finally:                          # end the line, also when interrupted
        sys.stdout.write("\n")
        sys.stdout.flush()
    return 0
