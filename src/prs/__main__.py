"""``python -m prs``: the same command line as the ``prs`` console script."""

from __future__ import annotations

import sys

from prs.cli import main

if __name__ == "__main__":
    sys.exit(main())
