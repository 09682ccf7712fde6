"""``python -m normrnn``: the same as the ``normrnn`` command."""

if __name__ == "__main__":
    import sys

    from ._console import main

    sys.exit(main())
