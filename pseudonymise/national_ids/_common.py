"""What a national-ID check returns: kinds, reasons, the scalar result and the column schema.

Country parsers (``_se``, ``_no``, ``_dk``) are vectorised: they take a column of trimmed,
non-empty strings and return one row per value with the columns of ``PARSED_SCHEMA``. A value
is *valid* when it is well-formed, its check digits match and its date is possible. Whether a
valid value may be *linked* (hashed into a person domain) is the policy's decision, made in
``_normalise``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import polars as pl


class Country(StrEnum):
    """Countries whose national IDs pseudonymise understands (ISO 3166-1 alpha-2)."""

    SE = "SE"
    NO = "NO"
    DK = "DK"


class IdKind(StrEnum):
    """What an identifier is, as far as its form tells."""

    PERSONNUMMER = "personnummer"  # SE
    SAMORDNINGSNUMMER = "samordningsnummer"  # SE coordination number: day + 60
    INTERIM = "interim"  # SE interim number: a letter in the serial
    ORGANISATION = "organisation"  # SE organisation number: month + 20 or more; not a person
    FODSELSNUMMER = "fodselsnummer"  # NO
    D_NUMBER = "d-number"  # NO: day + 40
    H_NUMBER = "h-number"  # NO help number: month + 40
    FH_NUMBER = "fh-number"  # NO health-sector help number: first digit 8 or 9, no date
    TENOR = "tenor"  # NO synthetic test number (Tenor): month + 80
    CPR = "cpr"  # DK
    UNKNOWN = "unknown"  # missing or not recognisable


class IdReason(StrEnum):
    """Why an identifier is not linked. The text of ``describe`` is safe to show and log."""

    MISSING = "missing"
    MALFORMED = "malformed"
    CHECK_DIGIT = "check-digit"
    DATE = "date"
    CENTURY = "century"
    FUTURE_DATE = "future-date"
    SERIAL = "serial"
    ORGANISATION = "organisation-number"
    INTERIM_NOT_ALLOWED = "interim-not-allowed"
    COORDINATION_NOT_ALLOWED = "coordination-not-allowed"

    def describe(self) -> str:
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    IdReason.MISSING: "no identifier given",
    IdReason.MALFORMED: "not written as a national ID of the country",
    IdReason.CHECK_DIGIT: "the check digit does not match",
    IdReason.DATE: "the birth date in the number is not a real date",
    IdReason.CENTURY: "the individual number does not fit any birth century",
    IdReason.FUTURE_DATE: "the birth date in the number is after the extract date",
    IdReason.SERIAL: "serial number 000 is never issued",
    IdReason.ORGANISATION: "an organisation number, not a person",
    IdReason.INTERIM_NOT_ALLOWED: (
        "an interim or help number, issued locally rather than by the national register; "
        "linked only where the policy allows interim numbers"
    ),
    IdReason.COORDINATION_NOT_ALLOWED: (
        "a coordination (samordnings-) or D-number, which the policy does not link"
    ),
}

KIND_DTYPE = pl.Enum([kind.value for kind in IdKind])
REASON_DTYPE = pl.Enum([reason.value for reason in IdReason])

# What a country parser returns, one row per input value.
PARSED_SCHEMA: dict[str, pl.DataType] = {
    "canonical": pl.String(),  # null unless valid
    "kind": KIND_DTYPE,
    "reason": REASON_DTYPE,  # null when valid
    "birth_year": pl.Int32(),  # null when invalid or not given by the number
}

# What normalise_person_ids returns, one row per input row.
NORMALISED_SCHEMA: dict[str, pl.DataType] = {
    "canonical": pl.String(),
    "kind": KIND_DTYPE,
    "valid": pl.Boolean(),
    "linkable": pl.Boolean(),
    "reason": REASON_DTYPE,
    "birth_year": pl.Int32(),
}


@dataclass(frozen=True)
class NationalId:
    """One identifier, checked. ``canonical`` is hidden from ``repr``: it is a raw ID.

    ``valid``: well-formed, check digits match, the date is possible. ``linkable``: valid
    *and* allowed by the policy, so it may be hashed into a person domain. ``reason`` says
    why not, when it is not linkable.
    """

    country: Country
    kind: IdKind
    valid: bool
    linkable: bool
    reason: IdReason | None
    birth_year: int | None
    canonical: str | None = field(default=None, repr=False)


def days_in_month(year: pl.Expr, month: pl.Expr) -> pl.Expr:
    """Days in ``month`` of ``year`` (Gregorian, proleptic); 0 for a month outside 1-12."""
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    return (
        pl.when(month == 2)
        .then(pl.when(leap).then(29).otherwise(28))
        .when(month.is_in([4, 6, 9, 11]))
        .then(30)
        .when(month.is_between(1, 12))
        .then(31)
        .otherwise(0)
    )


def digit(number: pl.Expr, position: int, width: int) -> pl.Expr:
    """The digit at ``position`` (0 = leftmost) of a ``width``-digit number held as an integer."""
    return (number // 10 ** (width - 1 - position)) % 10


def first_failure(*checks: tuple[pl.Expr, IdReason]) -> pl.Expr:
    """The reason of the first failing check (checks are 'is wrong' conditions), else null."""
    chain: Any = pl.when(checks[0][0]).then(pl.lit(checks[0][1].value))
    for condition, reason in checks[1:]:
        chain = chain.when(condition).then(pl.lit(reason.value))
    return chain.otherwise(pl.lit(None, dtype=pl.String))
