"""``python -m prs.cli``: the same command line as ``prs`` and ``python -m prs``."""

from __future__ import annotations

import sys

from prs.cli import main

if __name__ == "__main__":
    sys.exit(main())
