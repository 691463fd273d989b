"""Swedish personnummer, samordningsnummer and interim numbers (vectorised).

Written forms accepted (surrounding whitespace is trimmed before this point, letters may be
lower case):

    YYYYMMDDNNNC   YYYYMMDD-NNNC   YYYYMMDD+NNNC   YYMMDDNNNC   YYMMDD-NNNC   YYMMDD+NNNC

``NNN`` is the serial and ``C`` the Luhn check digit over the ten digits ``YYMMDDNNN``. Any
other separator (a space, a slash) is malformed, as in the personnummer specification.

Rules, and where the sources disagree (docs/explanation/national-ids.md):

- **Century of a 10-digit form**: the latest year ending in ``YY`` such that the birth date is
  on or before the extract date (``as_of``); with ``+`` the person was at least 100 years old
  then, so the latest such date at least 100 years before it. A 12-digit form carries its
  century and its separator is ignored.
- **Samordningsnummer**: day + 60. Skatteverket's own test numbers use month 00 and day 60
  for an unknown month or day, and day numbers past the end of the month, so only the ranges
  are checked (month 00-12, day 60-91), not the calendar.
- **Interim numbers** (specification v3.1): one of the letters T R S U W X J K L M N in the
  first serial position, counted as 1 in the Luhn sum. Valid, but linked only where the
  policy allows them.
- **Organisation numbers** (month 20 or more, Luhn-valid; 12-digit form with the prefix 16)
  are recognised and refused: they are not people.
- Serial 000 is never issued and is refused (python-stdnum accepts it).
- A birth date after ``as_of`` is refused.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from pseudonymise.national_ids._common import (
    IdKind,
    IdReason,
    days_in_month,
    first_failure,
)

INTERIM_LETTERS = "TRSUWXJKLMN"
_LETTERS = INTERIM_LETTERS + INTERIM_LETTERS.lower()
# YYMMDD or YYYYMMDD, an optional '-' or '+', the serial (its first position may be an interim
# letter) and the check digit.
_WRITTEN = rf"^(?:[0-9]{{2}})?[0-9]{{6}}[-+]?[0-9{_LETTERS}][0-9]{{3}}$"
COORDINATION_DAY_OFFSET = 60
ORGANISATION_MIN_MONTH = 20
ORGANISATION_CENTURY = 16  # the 12-digit form of an organisation number starts with 16


def _luhn_ok(ten_digits: pl.Expr) -> pl.Expr:
    """Luhn over a 10-digit number held as an integer.

    Taken two digits ``ab`` at a time, the first doubled: ``2a - 9·[a ≥ 5] + b``.
    """
    total = pl.lit(0, dtype=pl.Int64)
    for power in (8, 6, 4, 2, 0):
        pair = (ten_digits // 10**power) % 100
        tens = pair // 10
        total = total + pair - 8 * tens - pl.when(tens >= 5).then(9).otherwise(0)
    return total % 10 == 0


def parse(raw: pl.Series, as_of: dt.date) -> pl.DataFrame:
    """Check trimmed, non-empty strings as Swedish IDs; one row per value (PARSED_SCHEMA)."""
    as_of_md = as_of.month * 100 + as_of.day
    as_of_ymd = as_of.year * 10_000 + as_of_md
    c = pl.col
    # The written form splits into the date (6 or 8 digits, then maybe a separator) and the
    # last four characters (serial and check digit).
    frame = (
        pl.DataFrame({"written": raw})
        .lazy()
        .select(
            matched=c("written").str.contains(_WRITTEN),
            plus=c("written").str.contains("+", literal=True),
            date=c("written").str.head(-4).str.strip_chars_end("-+"),
            last4=c("written").str.tail(4).str.to_uppercase(),
        )
        .with_columns(
            long=c("date").str.len_bytes() == 8,
            date_number=c("date").cast(pl.Int64, strict=False),
            last4_number=c("last4").cast(pl.Int64, strict=False),
        )
        .with_columns(
            interim=c("matched") & c("last4_number").is_null(),
            # The letter of an interim number counts as 1 (specification v3.1).
            last4_number=pl.coalesce(
                c("last4_number"), 1000 + c("last4").str.slice(1).cast(pl.Int64, strict=False)
            ),
        )
        .with_columns(number=c("date_number") * 10_000 + c("last4_number"))
        .with_columns(
            ten=c("number") % 10**10,
            mm=(c("number") // 10**6) % 100,
            dd=(c("number") // 10**4) % 100,
            serial=(c("number") // 10) % 1000,
            yy=(c("number") // 10**8) % 100,
            century=pl.when(c("long")).then(c("number") // 10**10),
        )
        .with_columns(
            coordination=~c("interim") & (c("dd") >= COORDINATION_DAY_OFFSET),
            luhn_ok=_luhn_ok(c("ten")),
        )
        .with_columns(
            day=pl.when(c("coordination"))
            .then(c("dd") - COORDINATION_DAY_OFFSET)
            .otherwise(c("dd")),
        )
    )
    # Century: given by a 12-digit form, else the latest one that puts the birth date on or
    # before as_of (100 years earlier with '+').
    base = pl.lit(as_of.year) - pl.when(c("plus")).then(100).otherwise(0)
    latest = base - ((base - c("yy")) % 100)
    after_as_of = (latest == base) & (c("mm") * 100 + c("day") > as_of_md)
    inferred = pl.when(after_as_of).then(latest - 100).otherwise(latest)
    frame = frame.with_columns(
        year=pl.when(c("long")).then(c("century") * 100 + c("yy")).otherwise(inferred)
    )
    organisation = (
        (~c("long") | (c("century") == ORGANISATION_CENTURY))
        & ~c("interim")
        & (c("mm") >= ORGANISATION_MIN_MONTH)
        & c("luhn_ok")
    )
    date_ok = (c("year") >= 1) & (
        pl.when(c("coordination"))
        .then(c("mm").is_between(0, 12) & c("dd").is_between(60, 91))
        .otherwise(
            c("mm").is_between(1, 12) & c("dd").is_between(1, days_in_month(c("year"), c("mm")))
        )
    )
    future = c("year") * 10_000 + c("mm") * 100 + c("day") > as_of_ymd
    frame = frame.with_columns(
        reason=first_failure(
            (~c("matched"), IdReason.MALFORMED),
            (organisation, IdReason.ORGANISATION),
            (~c("luhn_ok"), IdReason.CHECK_DIGIT),
            (~date_ok, IdReason.DATE),
            (c("serial") == 0, IdReason.SERIAL),
            (future, IdReason.FUTURE_DATE),
        ),
        kind=pl.when(~c("matched"))
        .then(pl.lit(IdKind.UNKNOWN.value))
        .when(c("interim"))
        .then(pl.lit(IdKind.INTERIM.value))
        .when(organisation)
        .then(pl.lit(IdKind.ORGANISATION.value))
        .when(c("coordination"))
        .then(pl.lit(IdKind.SAMORDNINGSNUMMER.value))
        .otherwise(pl.lit(IdKind.PERSONNUMMER.value)),
    )
    valid = c("reason").is_null()
    century_text = pl.when(~c("long")).then((c("year") // 100).cast(pl.String).str.zfill(2))
    return frame.select(
        canonical=pl.when(valid).then(
            pl.concat_str(century_text.fill_null(""), c("date"), c("last4"))
        ),
        kind=c("kind"),
        reason=c("reason"),
        birth_year=pl.when(valid).then(c("year")).cast(pl.Int32),
    ).collect()
