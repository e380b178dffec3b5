"""``python -m prs.cli``: the same command line as ``prs`` and ``python -m prs``."""

from __future__ import annotations

from prs.cli import console

if __name__ == "__main__":
    console()
