"""What a scoring file's weights are: additive effects on the log scale, or ratios.

The PGS Catalog's header field ``weight_type`` says how the authors reported the weights
(``beta``, ``log(OR)``, ``log(HR)``, ``OR``, ``HR``, or ``NR`` — not reported). Format 1.0
files may carry it per row, as a ``weight_type`` column. A polygenic score is a *sum*
of dosage times weight, which is right for betas and log ratios only: an odds ratio of 1
(no effect) would add 1 per allele. So ratios are scored as their natural log, with a
warning (see :func:`prs.weights.read_scorefile`).

The PGS Catalog's own rule for its ``OR``/``HR`` columns is the same: "if no other
effect_weight is given the weight is calculated using the log(OR) or log(HR)" (format 2.0
column description). The Catalog Calculator (pgsc_calc, pygscatalog) reads ``weight_type``
as metadata only and converts nothing; prs never sums ratios silently.
"""

from __future__ import annotations

import re
from typing import Literal

#: The ratio spellings (normalised: lower case, no spaces, ``_`` or ``-``) -> short name.
RATIO_TYPES = {
    "or": "OR",
    "oddsratio": "OR",
    "oddsratios": "OR",
    "hr": "HR",
    "hazardratio": "HR",
    "hazardratios": "HR",
    "rr": "RR",
    "relativerisk": "RR",
}

#: Spellings of weights already on an additive (log) scale, and "not reported".
LOG_TYPES = frozenset(
    {
        "beta",
        "betas",
        "b",
        "log(or)",
        "logor",
        "ln(or)",
        "lnor",
        "logodds",
        "logoddsratio",
        "log(oddsratio)",
        "log(hr)",
        "loghr",
        "ln(hr)",
        "lnhr",
        "loghazardratio",
        "log(hazardratio)",
        "log(rr)",
        "logrr",
    }
)
NOT_REPORTED = frozenset({"", "nr", "na", "n/a", "notreported"})

#: Shown in messages: the values prs recognises.
KNOWN_TEXT = "beta, log(OR), log(HR), OR, HR, NR"

_RATIO_NAMES = {"OR": "odds ratio", "HR": "hazard ratio", "RR": "relative risk"}


def _normalise(text: str) -> str:
    return re.sub(r"[\s_\-]", "", text).lower()


def classify(text: str | None) -> tuple[Literal["ratio", "log", "not reported", "unknown"], str]:
    """Return (kind, short name) for a ``weight_type`` value.

    Examples
    --------
    >>> classify("OR"), classify("log(OR)"), classify("NR"), classify("Z-ish")
    (('ratio', 'OR'), ('log', 'log(OR)'), ('not reported', 'NR'), ('unknown', 'Z-ish'))
    """
    if text is None:
        return "not reported", "NR"
    key = _normalise(text)
    if key in RATIO_TYPES:
        return "ratio", RATIO_TYPES[key]
    if key in NOT_REPORTED:
        return "not reported", "NR"
    if key in LOG_TYPES:
        return "log", text.strip()
    return "unknown", text.strip()


def ratio_name(short: str) -> str:
    """``"odds ratio"`` for ``"OR"``, and so on."""
    return _RATIO_NAMES.get(short, "ratio")
