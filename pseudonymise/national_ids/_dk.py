"""Danish CPR numbers (vectorised).

Ten digits ``DDMMYY-SSSS``, written with or without the hyphen (or a space). The first serial
digit and ``YY`` give the century: 0-3 → 1900s; 4 or 9 → 2000s for YY 00-36, else 1900s;
5-8 → 2000s for YY 00-57, else 1800s. The date must exist and not be after ``as_of``.

There is no check digit: CPR numbers issued since 2007 need not satisfy the old modulus-11
rule, so it is not applied.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from pseudonymise.national_ids._common import (
    KIND_DTYPE,
    REASON_DTYPE,
    IdKind,
    IdReason,
    days_in_month,
    first_failure,
)

_PATTERN = r"^[0-9]{6}[ -]?[0-9]{4}$"


def _century(serial_first: pl.Expr, yy: pl.Expr) -> pl.Expr:
    return (
        pl.when(serial_first <= 3)
        .then(1900)
        .when(serial_first.is_in([4, 9]))
        .then(pl.when(yy <= 36).then(2000).otherwise(1900))
        .otherwise(pl.when(yy <= 57).then(2000).otherwise(1800))
    )


def parse(raw: pl.Series, as_of: dt.date) -> pl.DataFrame:
    """Check trimmed, non-empty strings as Danish CPR numbers; one row per value."""
    as_of_ymd = as_of.year * 10_000 + as_of.month * 100 + as_of.day
    c = pl.col
    frame = (
        pl.DataFrame({"written": raw})
        .lazy()
        .with_columns(matched=c("written").str.contains(_PATTERN))
        .with_columns(
            digits=pl.when(c("matched")).then(
                c("written").str.replace_all(r"[ -]", "").cast(pl.Int64, strict=False)
            )
        )
        .with_columns(
            day=c("digits") // 10**8,
            month=(c("digits") // 10**6) % 100,
            yy=(c("digits") // 10**4) % 100,
            serial_first=(c("digits") // 1000) % 10,
        )
        .with_columns(year=_century(c("serial_first"), c("yy")) + c("yy"))
    )
    date_ok = c("month").is_between(1, 12) & c("day").is_between(
        1, days_in_month(c("year"), c("month"))
    )
    future = c("year") * 10_000 + c("month") * 100 + c("day") > as_of_ymd
    frame = frame.with_columns(
        reason=first_failure(
            (~c("matched"), IdReason.MALFORMED),
            (~date_ok, IdReason.DATE),
            (future, IdReason.FUTURE_DATE),
        ),
        kind=pl.when(c("matched"))
        .then(pl.lit(IdKind.CPR.value))
        .otherwise(pl.lit(IdKind.UNKNOWN.value)),
    )
    valid = c("reason").is_null()
    return (
        frame.select(
            canonical=pl.when(valid).then(c("digits").cast(pl.String).str.zfill(10)),
            kind=c("kind"),
            reason=c("reason"),
            birth_year=pl.when(valid).then(c("year")).cast(pl.Int32),
        )
        .collect()
        .cast({"kind": KIND_DTYPE, "reason": REASON_DTYPE})
    )
