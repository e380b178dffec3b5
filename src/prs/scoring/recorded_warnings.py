"""Every warning of a run recorded for its provenance, then shown as the caller asked.

A scoring run records every prs warning it issues (``provenance["warnings"]``), whatever the
caller's filters say, except one the caller turns into an error (``--strict``), which stops
the run at once; the recorded warnings are then issued again under the caller's filters, where
they were first issued, so the caller sees them as it asked.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prs.errors import PRSWarning


@contextmanager
def recorded_warnings() -> Iterator[list[dict[str, str]]]:
    """Record the warnings issued inside; on the way out issue them again.

    Yields a list that, once the block is left without an error, holds each prs warning as
    ``{"category", "message"}``. A failed block re-raises its error after the warnings (a
    warning the caller's filters make an error does not replace it).
    """
    caller_filters = list(warnings.filters)
    prs_warnings: list[dict[str, str]] = []
    error: BaseException | None = None
    with warnings.catch_warnings(record=True) as caught:
        _record_all_but_errors(caller_filters)
        try:
            yield prs_warnings
        except BaseException as exc:  # re-raised below, after the warnings
            error = exc
    recorded = list(caught)
    if error is not None:
        _reissue(recorded, keep_error=error)
        raise error
    prs_warnings.extend(
        {"category": w.category.__name__, "message": str(w.message)}
        for w in recorded
        if issubclass(w.category, PRSWarning)
    )
    _reissue(recorded)


def _record_all_but_errors(caller_filters: list[tuple[Any, ...]]) -> None:
    """Filters that keep the caller's "error" entries (first match wins, as before) and turn
    every other action ("ignore", "default", "once", ...) into "always"."""
    warnings.simplefilter("always")
    for action, message, category, module, lineno in reversed(caller_filters):
        warnings.filterwarnings(
            "error" if action == "error" else "always",
            message=getattr(message, "pattern", message) or "",
            category=category,
            module=getattr(module, "pattern", module) or "",
            lineno=lineno,
        )


def _reissue(
    recorded: list[warnings.WarningMessage], keep_error: BaseException | None = None
) -> None:
    """Issue recorded warnings again, under the current filters. With ``keep_error`` (the
    run failed), a warning the filters turn into an error does not replace that error."""
    for w in recorded:
        try:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
        except Exception:
            if keep_error is None:
                raise
