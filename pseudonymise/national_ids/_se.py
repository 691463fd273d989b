"""Swedish personnummer, samordningsnummer and interim numbers (vectorised).

Written forms accepted (surrounding whitespace is trimmed before this point, letters may be
lower case):

    YYYYMMDDNNNC   YYYYMMDD-NNNC   YYYYMMDD+NNNC   YYMMDDNNNC   YYMMDD-NNNC   YYMMDD+NNNC

``NNN`` is the serial and ``C`` the Luhn check digit over the ten digits ``YYMMDDNNN``. Any
other separator (a space, a slash) is malformed, as in the personnummer specification.

Rules, and where the sources disagree (docs/explanation/national-ids.md):

- **Century of a 10-digit form**: the latest year ending in ``YY`` such that the birth date is
  on or before the extract date (``as_of``). ``+`` is written from the year the person turns
  100 (Skatteverket's rule), so with ``+`` it is the latest year ending in ``YY`` at least 100
  years before the year of ``as_of``, whatever the day: ``261215+0934`` read in 2026 is born
  in 1926. A 12-digit form carries its century and its separator is ignored.
- **Samordningsnummer**: day + 60. Skatteverket's own test numbers use month 00 and day 60
  for an unknown month or day, and day numbers past the end of the month, so only the ranges
  are checked (month 00-12, day 60-91), not the calendar.
- **Interim numbers** (specification v3.1): one of the letters T R S U W X J K L M N in the
  first serial position, counted as 1 in the Luhn sum. Valid, but linked only where the
  policy allows them.
- **Organisation numbers** (month 20 or more, Luhn-valid; 12-digit form with the prefix 16)
  are recognised and refused: they are not people.
- Serial 000 is never issued and is refused (python-stdnum accepts it).
- A birth date after ``as_of`` is refused, and so is year 0000.

Implementation: every written form is at most 13 ASCII bytes, so each value is laid out
right-aligned in a row of 13 bytes and all checks are NumPy arithmetic on byte columns. The
form follows from the length: 10 ``YYMMDDNNNC``, 11 ``YYMMDD-NNNC``, 12 ``YYYYMMDDNNNC``, 13
``YYYYMMDD-NNNC``; a value of any other length, or with a byte out of place, is malformed.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pyarrow as pa

from pseudonymise.national_ids._common import (
    KIND_DTYPE,
    PARSED_SCHEMA,
    REASON_DTYPE,
    IdKind,
    IdReason,
)

INTERIM_LETTERS = "TRSUWXJKLMN"
COORDINATION_DAY_OFFSET = 60
ORGANISATION_MIN_MONTH = 20
ORGANISATION_CENTURY = 16  # the 12-digit form of an organisation number starts with 16
WIDTH = 13  # the longest written form: YYYYMMDD-NNNC
_BLOCK = 1 << 16  # rows laid out at a time, to bound temporary memory
_ZERO, _MINUS, _PLUS = ord("0"), ord("-"), ord("+")
_LETTER_BYTES = np.frombuffer(INTERIM_LETTERS.encode(), dtype=np.uint8)
_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
_KINDS = list(IdKind)
_REASONS = list(IdReason)


def _byte_columns(raw: pl.Series) -> tuple[list[np.ndarray], np.ndarray]:
    """The last ``WIDTH`` UTF-8 bytes of each value, right-aligned, as ``WIDTH`` columns
    (byte 0 where a value is shorter), and each value's length in bytes."""
    arrow = raw.cast(pl.Binary).rechunk().to_arrow()
    if arrow.type != pa.large_binary():
        arrow = arrow.cast(pa.large_binary())
    count = len(arrow)
    _, offset_buffer, data_buffer = arrow.buffers()
    offsets = np.frombuffer(offset_buffer, dtype=np.int64)[arrow.offset : arrow.offset + count + 1]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else None
    if data is None or len(data) == 0:
        data = np.zeros(1, dtype=np.uint8)
    begin, end = offsets[:-1], offsets[1:]
    columns = []
    for back in range(WIDTH, 0, -1):
        at = end - back
        column = data[np.clip(at, 0, len(data) - 1)]
        column[at < begin] = 0
        columns.append(column)
    return columns, end - begin


def _number(*digits: np.ndarray) -> np.ndarray:
    value = np.zeros(len(digits[0]), dtype=np.int32)
    for digit in digits:
        value = value * 10 + digit
    return value


def _luhn_double(digit: np.ndarray) -> np.ndarray:
    return 2 * digit - 9 * (digit >= 5)


def _days_in_month(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    return _DAYS[np.clip(month, 0, 12)] + ((month == 2) & leap)


def _first(conditions: list[tuple[np.ndarray, int]], default: int) -> np.ndarray:
    return np.select([c for c, _ in conditions], [v for _, v in conditions], default)


def parse(raw: pl.Series, as_of: dt.date) -> pl.DataFrame:
    """Check trimmed strings as Swedish IDs; one row per value (PARSED_SCHEMA)."""
    if len(raw) == 0:
        return pl.DataFrame(schema=PARSED_SCHEMA)
    byte, length = _byte_columns(raw)
    count = len(length)
    long = (length == 12) | (length == 13)
    separated = (length == 11) | (length == 13)
    # The date as 8 byte columns YYYYMMDD ('00' for the century of a short form). Digit k
    # (k >= 2) sits in column k of a separated form and in column k + 1 otherwise.
    zero = np.full(count, _ZERO, dtype=np.uint8)
    date = [np.where(long, np.where(separated, byte[k], byte[k + 1]), zero) for k in (0, 1)]
    date += [np.where(separated, byte[k], byte[k + 1]) for k in range(2, 8)]
    first_serial = np.where((byte[9] >= ord("a")) & (byte[9] <= ord("z")), byte[9] - 32, byte[9])
    letter = np.isin(first_serial, _LETTER_BYTES)
    d = [column.astype(np.int16) - _ZERO for column in date]
    s = [byte[k].astype(np.int16) - _ZERO for k in range(9, 13)]
    matched = (length >= 10) & (length <= WIDTH) & (letter | ((s[0] >= 0) & (s[0] <= 9)))
    for digit in (*d, *s[1:]):
        matched &= (digit >= 0) & (digit <= 9)
    matched &= ~separated | (byte[8] == _MINUS) | (byte[8] == _PLUS)

    century, yy, mm, dd = (
        _number(d[0], d[1]),
        _number(d[2], d[3]),
        _number(d[4], d[5]),
        _number(d[6], d[7]),
    )
    # The letter of an interim number counts as 1 (specification v3.1).
    s0 = np.where(letter, 1, s[0]).astype(np.int16)
    luhn_ok = (
        _luhn_double(d[2])
        + d[3]
        + _luhn_double(d[4])
        + d[5]
        + _luhn_double(d[6])
        + d[7]
        + _luhn_double(s0)
        + s[1]
        + _luhn_double(s[2])
        + s[3]
    ) % 10 == 0
    coordination = ~letter & (dd >= COORDINATION_DAY_OFFSET)
    day = np.where(coordination, dd - COORDINATION_DAY_OFFSET, dd)

    # Century: given by a 12-digit form, else the latest one that puts the birth date on or
    # before as_of; with '+' (written from the year the person turns 100) the latest year at
    # least 100 years before as_of's year, whatever the month and day.
    plus = separated & (byte[8] == _PLUS)
    base = as_of.year - 100 * plus.astype(np.int32)
    latest = base - (base - yy) % 100
    after_as_of = ~plus & (latest == base) & (mm * 100 + day > as_of.month * 100 + as_of.day)
    year = np.where(long, century * 100 + yy, latest - 100 * after_as_of)

    organisation = (
        (~long | (century == ORGANISATION_CENTURY))
        & ~letter
        & (mm >= ORGANISATION_MIN_MONTH)
        & luhn_ok
    )
    date_ok = (year >= 1) & np.where(
        coordination,
        (mm <= 12) & (dd <= 91),
        (mm >= 1) & (mm <= 12) & (dd >= 1) & (dd <= _days_in_month(year, mm)),
    )
    serial_000 = ~letter & (s[0] == 0) & (s[1] == 0) & (s[2] == 0)
    future = year * 10_000 + mm * 100 + day > as_of.year * 10_000 + as_of.month * 100 + as_of.day
    valid_code = len(_REASONS)
    reason = _first(
        [
            (~matched, _REASONS.index(IdReason.MALFORMED)),
            (organisation, _REASONS.index(IdReason.ORGANISATION)),
            (~luhn_ok, _REASONS.index(IdReason.CHECK_DIGIT)),
            (~date_ok, _REASONS.index(IdReason.DATE)),
            (serial_000, _REASONS.index(IdReason.SERIAL)),
            (future, _REASONS.index(IdReason.FUTURE_DATE)),
        ],
        valid_code,
    )
    kind = _first(
        [
            (~matched, _KINDS.index(IdKind.UNKNOWN)),
            (letter, _KINDS.index(IdKind.INTERIM)),
            (organisation, _KINDS.index(IdKind.ORGANISATION)),
            (coordination, _KINDS.index(IdKind.SAMORDNINGSNUMMER)),
        ],
        _KINDS.index(IdKind.PERSONNUMMER),
    )
    valid = reason == valid_code

    # Canonical form YYYYMMDDNNNC, the interim letter upper-case; zeros in invalid rows, whose
    # bytes need not even be UTF-8.
    hundreds = np.clip(year, 0, 9999) // 100
    canonical = np.empty((count, 12), dtype=np.uint8)
    canonical[:, 0] = np.where(long, date[0], hundreds // 10 % 10 + _ZERO)
    canonical[:, 1] = np.where(long, date[1], hundreds % 10 + _ZERO)
    for k in range(2, 8):
        canonical[:, k] = date[k]
    canonical[:, 8] = first_serial
    for k in range(9, 12):
        canonical[:, k] = byte[k + 1]
    canonical[~valid] = _ZERO
    text = pl.from_arrow(
        pa.FixedSizeBinaryArray.from_buffers(pa.binary(12), count, [None, pa.py_buffer(canonical)])
    )
    assert isinstance(text, pl.Series)
    codes = np.minimum(reason, valid_code - 1).astype(np.uint32)
    return pl.DataFrame(
        {
            "valid": valid,
            "canonical": text.cast(pl.String),
            "kind": pl.Series(kind.astype(np.uint32)).cast(KIND_DTYPE),
            "reason": pl.Series(codes).cast(REASON_DTYPE),
            "birth_year": year.astype(np.int32),
        }
    ).select(
        canonical=pl.when("valid").then("canonical"),
        kind="kind",
        reason=pl.when(~pl.col("valid")).then("reason"),
        birth_year=pl.when("valid").then("birth_year"),
    )
