"""Norwegian fødselsnummer, D-numbers, H-numbers and Tenor test numbers (vectorised).

Eleven digits ``DDMMYY III K1 K2``, written with nothing, a space or a hyphen after the date.

- ``III`` (individual number) and ``YY`` give the century: 000-499 → 1900s; 500-749 with YY
  54-99 → 1800s; 500-999 with YY 00-39 → 2000s; 900-999 with YY 40-99 → 1900s. Any other
  combination names no birth century and is refused.
- Check digits, modulus 11. ``K2`` is the one check digit that makes the weighted sum of all
  eleven digits divisible by 11. ``K1`` follows the rule Skatteetaten publishes for numbers
  issued from 2032, which also covers every older number: the weighted sum of the first ten
  digits leaves a remainder of 0, 1, 2 or 3 (before 2032 only 0 was used).
- Kinds: day + 40 → D-number; month + 40 → H-number (a help number issued by a health
  institution); month + 80 → a synthetic Tenor test number; first digit 8 or 9 → an FH-number
  (a health-sector help number, no birth date, only the check digits are checked).
  Combinations follow NAV's validator: D + H is an H-number, D + Tenor a Tenor number.
- A birth date after ``as_of`` is refused.
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
    digit,
    first_failure,
)

_PATTERN = r"^[0-9]{6}[ -]?[0-9]{5}$"
_K1_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2, 1)
_K2_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
# K1 may leave these remainders (Skatteetaten, "nytt fødselsnummer fra 2032").
K1_REMAINDERS = (0, 1, 2, 3)


def _weighted(number: pl.Expr, weights: tuple[int, ...]) -> pl.Expr:
    total = pl.lit(0, dtype=pl.Int64)
    for position, weight in enumerate(weights):
        total = total + digit(number, position, 11) * weight
    return total


def _century(individual: pl.Expr, yy: pl.Expr) -> pl.Expr:
    return (
        pl.when(individual < 500)
        .then(1900)
        .when((individual < 750) & (yy >= 54))
        .then(1800)
        .when(yy < 40)
        .then(2000)
        .when(individual >= 900)
        .then(1900)
        .otherwise(None)
    )


def parse(raw: pl.Series, as_of: dt.date) -> pl.DataFrame:
    """Check trimmed, non-empty strings as Norwegian IDs; one row per value (PARSED_SCHEMA)."""
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
            d0=digit(c("digits"), 0, 11),
            d2=digit(c("digits"), 2, 11),
            dd=c("digits") // 10**9,
            mm=(c("digits") // 10**7) % 100,
            yy=(c("digits") // 10**5) % 100,
            individual=(c("digits") // 100) % 1000,
            k1_ok=(_weighted(c("digits"), _K1_WEIGHTS) % 11).is_in(K1_REMAINDERS),
            k2_ok=_weighted(c("digits"), _K2_WEIGHTS) % 11 == 0,
        )
        .with_columns(
            kind=pl.when(~c("matched"))
            .then(pl.lit(IdKind.UNKNOWN.value))
            .when(c("d0") >= 8)
            .then(pl.lit(IdKind.FH_NUMBER.value))
            .when(c("d2") >= 8)
            .then(pl.lit(IdKind.TENOR.value))
            .when(c("d2") >= 4)
            .then(pl.lit(IdKind.H_NUMBER.value))
            .when(c("d0") >= 4)
            .then(pl.lit(IdKind.D_NUMBER.value))
            .otherwise(pl.lit(IdKind.FODSELSNUMMER.value)),
            day=pl.when(c("d0") >= 4).then(c("dd") - 40).otherwise(c("dd")),
            month=pl.when(c("d2") >= 8)
            .then(c("mm") - 80)
            .when(c("d2") >= 4)
            .then(c("mm") - 40)
            .otherwise(c("mm")),
            year=_century(c("individual"), c("yy")) + c("yy"),
        )
    )
    dated = c("kind") != IdKind.FH_NUMBER.value
    date_ok = c("month").is_between(1, 12) & c("day").is_between(
        1, days_in_month(c("year"), c("month"))
    )
    future = c("year") * 10_000 + c("month") * 100 + c("day") > as_of_ymd
    frame = frame.with_columns(
        reason=first_failure(
            (~c("matched"), IdReason.MALFORMED),
            (~(c("k1_ok") & c("k2_ok")), IdReason.CHECK_DIGIT),
            (dated & c("year").is_null(), IdReason.CENTURY),
            (dated & ~date_ok, IdReason.DATE),
            (dated & future, IdReason.FUTURE_DATE),
        )
    )
    valid = c("reason").is_null()
    return (
        frame.select(
            canonical=pl.when(valid).then(c("digits").cast(pl.String).str.zfill(11)),
            kind=c("kind"),
            reason=c("reason"),
            birth_year=pl.when(valid & dated).then(c("year")).cast(pl.Int32),
        )
        .collect()
        .cast({"kind": KIND_DTYPE, "reason": REASON_DTYPE})
    )
