"""`python -m textgen ...`: the same command line as the `textgen` script."""

from textgen.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
