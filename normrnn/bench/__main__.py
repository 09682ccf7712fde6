"""``python -m normrnn.bench``: the ``normrnn bench`` command on its own."""

import sys

from .command import main

if __name__ == "__main__":
    sys.exit(main())
