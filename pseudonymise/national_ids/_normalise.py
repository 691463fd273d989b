"""Entry points: check and normalise national IDs, one column at a time or one value.

``normalise_person_ids`` works on the *distinct* written forms of a column and maps the result
back, so a column in which each person appears many times costs one check per person.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import polars as pl

from medler.errors import MedlerInternalError
from pseudonymise.national_ids import _dk, _no, _se
from pseudonymise.national_ids._common import (
    KIND_DTYPE,
    PARSED_SCHEMA,
    REASON_DTYPE,
    Country,
    IdKind,
    IdReason,
    NationalId,
)
from pseudonymise.national_ids._policy import IdPolicy

_PARSERS: dict[Country, Callable[[pl.Series, dt.date], pl.DataFrame]] = {
    Country.SE: _se.parse,
    Country.NO: _no.parse,
    Country.DK: _dk.parse,
}


def _as_strings(values: pl.Series) -> pl.Series:
    if values.dtype == pl.String:
        return values
    if values.dtype.is_integer():
        # An integer has lost any leading zero, so a short form may come out malformed.
        return values.cast(pl.String)
    if values.dtype == pl.Null:
        return values.cast(pl.String)
    raise TypeError(f"national IDs must be a String or integer column, not {values.dtype}")


def _parse_distinct(written: pl.Series, policy: IdPolicy, as_of: dt.date) -> pl.DataFrame:
    """One row per value of ``written`` (trimmed; null where missing), NORMALISED_SCHEMA."""
    parsed = _PARSERS[policy.country](written.fill_null(""), as_of)
    if parsed.schema != pl.Schema(PARSED_SCHEMA):
        raise MedlerInternalError(f"the {policy.country} parser returned the wrong columns")
    present = pl.lit(written.is_not_null())
    valid = present & pl.col("reason").is_null()
    refusal: Any = pl.lit(None, dtype=REASON_DTYPE)
    for kind in IdKind:
        reason = policy.refusal(kind)
        if reason is not None:
            refusal = (
                pl.when(pl.col("kind") == kind.value)
                .then(pl.lit(reason.value, dtype=REASON_DTYPE))
                .otherwise(refusal)
            )
    return parsed.select(
        canonical=pl.col("canonical"),
        kind=pl.when(present)
        .then(pl.col("kind"))
        .otherwise(pl.lit(IdKind.UNKNOWN.value, dtype=KIND_DTYPE)),
        valid=valid,
        linkable=valid & refusal.is_null(),
        reason=pl.when(~present)
        .then(pl.lit(IdReason.MISSING.value, dtype=REASON_DTYPE))
        .when(valid)
        .then(refusal)
        .otherwise(pl.col("reason")),
        birth_year=pl.col("birth_year"),
    )


def normalise_distinct_person_ids(
    values: pl.Series, *, policy: IdPolicy, as_of: dt.date
) -> pl.DataFrame:
    """``normalise_person_ids`` for values known to be distinct: no search for repeats."""
    trimmed = _as_strings(values).str.strip_chars()
    written = pl.select(
        pl.when(trimmed.str.len_bytes() > 0).then(trimmed).alias("written")
    ).to_series()
    return _parse_distinct(written, policy, as_of)


def normalise_person_ids(
    values: pl.Series,
    *,
    policy: IdPolicy | None = None,
    as_of: dt.date | None = None,
) -> pl.DataFrame:
    """Check a column of national IDs; one row per input row, columns ``NORMALISED_SCHEMA``.

    ``canonical`` is the one form every written form of a valid ID normalises to (Sweden:
    ``YYYYMMDDNNNC``, the interim letter upper-case; Norway: 11 digits; Denmark: 10 digits),
    null when invalid. ``as_of`` is the date the extract was written (default: today): it fixes
    the century of 10-digit Swedish forms and refuses birth dates after it.

    Empty and blank strings count as missing. The work is done once per distinct written
    form.
    """
    policy = policy or IdPolicy()
    as_of = as_of or dt.date.today()
    trimmed = _as_strings(values).str.strip_chars()
    written = pl.select(
        pl.when(trimmed.str.len_bytes() > 0).then(trimmed).alias("written")
    ).to_series()
    if written.n_unique() == len(written):
        return _parse_distinct(written, policy, as_of)
    distinct = written.unique()
    checked = _parse_distinct(distinct, policy, as_of).insert_column(0, distinct)
    return (
        pl.DataFrame({"written": written})
        .join(checked, on="written", how="left", maintain_order="left", nulls_equal=True)
        .drop("written")
    )


def normalise_person_id(
    value: str | None,
    *,
    policy: IdPolicy | None = None,
    as_of: dt.date | None = None,
) -> NationalId:
    """Check one national ID; the same rules as ``normalise_person_ids``."""
    policy = policy or IdPolicy()
    row = normalise_person_ids(pl.Series([value], dtype=pl.String), policy=policy, as_of=as_of)
    record = row.row(0, named=True)
    return NationalId(
        country=policy.country,
        kind=IdKind(record["kind"]),
        valid=record["valid"],
        linkable=record["linkable"],
        reason=None if record["reason"] is None else IdReason(record["reason"]),
        birth_year=record["birth_year"],
        canonical=record["canonical"],
    )
