"""Writing outputs: every file atomically, a run's files as one set under a lock.

:mod:`~prs.output.publish` holds the mechanics (temporary files, staging, the lock, recovery,
modes; no formats), :mod:`~prs.output.tables` the writers of tables (TSV, Parquet) and JSON
over it. Every stage writes through here; what a scoring run writes is :mod:`prs.report`.
"""

from prs.output.publish import (
    COMMIT_PREFIX,
    DEFAULT_LOCK_TIMEOUT,
    LOCK_NAME,
    STAGE_PREFIX,
    TEST_HOOK_ENV,
    OutputSet,
    atomic_write,
    recover,
    remove_dead_temporaries,
    write_error,
)
from prs.output.tables import ReportOutputs, output_set, write_json, write_table

__all__ = [
    "COMMIT_PREFIX",
    "DEFAULT_LOCK_TIMEOUT",
    "LOCK_NAME",
    "STAGE_PREFIX",
    "TEST_HOOK_ENV",
    "OutputSet",
    "ReportOutputs",
    "atomic_write",
    "output_set",
    "recover",
    "remove_dead_temporaries",
    "write_error",
    "write_json",
    "write_table",
]
