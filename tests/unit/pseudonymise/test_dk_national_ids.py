"""Danish CPR numbers: python-stdnum's documented examples and the century table.

No modulus-11 check: CPR numbers issued since 2007 need not satisfy it.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pseudonymise import Country, IdKind, IdPolicy, IdReason, normalise_person_id
from pseudonymise.national_ids import normalise_person_ids

DENMARK = IdPolicy(country=Country.DK)
AS_OF = dt.date(2026, 11, 22)


def test_stdnum_examples() -> None:
    valid = normalise_person_id("211062-5629", policy=DENMARK, as_of=AS_OF)
    assert (valid.valid, valid.kind, valid.canonical) == (True, IdKind.CPR, "2110625629")
    assert normalise_person_id("511062-5629", policy=DENMARK).reason is IdReason.DATE
    assert normalise_person_id("2110620629", policy=DENMARK).birth_year == 1962
    # stdnum: born 2052, "has not been born yet".
    future = normalise_person_id("2110525629", policy=DENMARK, as_of=AS_OF)
    assert (future.valid, future.reason) == (False, IdReason.FUTURE_DATE)
    later = normalise_person_id("2110525629", policy=DENMARK, as_of=dt.date(2053, 1, 1))
    assert (later.valid, later.birth_year) == (True, 2052)


def test_no_modulus_11_requirement() -> None:
    # 211062-5628 fails the old modulus-11 check but is a possible number today.
    assert normalise_person_id("211062-5628", policy=DENMARK, as_of=AS_OF).valid


@pytest.mark.parametrize(
    ("serial_first", "yy", "birth_year"),
    [
        ("0", "62", 1962),
        ("3", "05", 1905),
        ("4", "20", 2020),
        ("4", "37", 1937),
        ("9", "36", 2036),
        ("9", "37", 1937),
        ("5", "57", 2057),
        ("5", "58", 1858),
        ("8", "99", 1899),
    ],
)
def test_century_table(serial_first: str, yy: str, birth_year: int) -> None:
    result = normalise_person_id(
        f"0101{yy}-{serial_first}123", policy=DENMARK, as_of=dt.date(2060, 1, 1)
    )
    assert (result.valid, result.birth_year) == (True, birth_year)


def test_written_forms_give_one_canonical_form() -> None:
    forms = ["211062-5629", "2110625629", "211062 5629", " 2110625629 "]
    result = normalise_person_ids(pl.Series(forms), policy=DENMARK, as_of=AS_OF)
    assert set(result["canonical"]) == {"2110625629"}
    assert normalise_person_id("21106-25629", policy=DENMARK).reason is IdReason.MALFORMED
    assert normalise_person_id("290201-1234", policy=DENMARK).reason is IdReason.DATE
