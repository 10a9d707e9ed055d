"""``python -m kisonet ...``: the same command line as the ``kisonet`` script."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
