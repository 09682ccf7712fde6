"""``python -m normrnn``: the same as the ``normrnn`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
