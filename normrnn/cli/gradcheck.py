"""``normrnn gradcheck``: every backward section against central finite differences."""

__all__ = ["HELP", "configure", "run"]

HELP = "finite-difference check of every backward section"


def configure(p):
    """Add the arguments of ``normrnn gradcheck`` to the parser ``p``."""
    from ..gradcheck import SECTIONS
    p.add_argument("--section", choices=SECTIONS, default=None,
                   help="check one section only (default: all)")
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64",
                   help="(default: %(default)s)")


def run(args):
    """Print the check table; 0 if every check passed, else 1."""
    import numpy as np

    from ..gradcheck import check_all, format_table
    rows = check_all(dtype=np.dtype(args.dtype),
                     sections=None if args.section is None else [args.section])
    print(format_table(rows))
    return 0 if all(row.passed for row in rows) else 1
