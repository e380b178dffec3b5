"""``python -m prs``: the same command line as the ``prs`` console script."""

from __future__ import annotations

from prs.cli import console

if __name__ == "__main__":
    console()
