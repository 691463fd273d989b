"""Norwegian IDs against NAV's fnrvalidator test cases (read from its TypeScript test file).

NAV and python-stdnum 2.2 disagree on Tenor test numbers and the 2032 check-digit rule; we
follow NAV (docs/explanation/national-ids.md). The 2032 examples are people born in 2032, so
they are checked with an extract date in 2032: on an earlier extract date their birth date is
in the future, and that is refused.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import polars as pl
import pytest

from pseudonymise import Country, IdKind, IdPolicy, IdReason, normalise_person_id
from pseudonymise.national_ids import normalise_person_ids
from tests.conftest import shared_path

NORWAY = IdPolicy(country=Country.NO)
AS_OF_2032 = dt.date(2032, 12, 31)
TYPES = {
    "fnr": IdKind.FODSELSNUMMER,
    "dnr": IdKind.D_NUMBER,
    "hnr": IdKind.H_NUMBER,
    "tnr": IdKind.TENOR,
    "dnr-and-hnr": IdKind.H_NUMBER,
    "dnr-and-tnr": IdKind.TENOR,
}
NAV_REASONS = {
    "fnr, dnr or hnr must consist of 11 digits": IdReason.MALFORMED,
    "checksums don't match": IdReason.CHECK_DIGIT,
    "invalid date": IdReason.DATE,
}
_CALL = re.compile(r'const (\w+) = (?:fnr|dnr|hnr|tnr|dnrAndHnr|dnrAndTnr)\("([^"]*)"\)')
_EQUAL = re.compile(
    r'expect\((\w+)\)\.toEqual\(\{\s*status:\s*"(valid|invalid)",\s*'
    r'(?:type:\s*"([\w-]+)"|reasons:\s*\[([^\]]*)\])'
)
_TO_BE = re.compile(r'expect\((\w+)\.status\)\.toBe\("(valid|invalid)"\)')


@dataclass(frozen=True)
class NavCase:
    title: str
    value: str
    valid: bool
    kind: IdKind | None
    first_reason: IdReason | None


def _nav_cases() -> list[NavCase]:
    source = shared_path("testdata/national_ids/no/fnr.spec.ts").read_text(encoding="utf-8")
    cases: list[NavCase] = []
    for block in re.split(r"\bit\(", source)[1:]:
        title = block.split('"')[1]
        calls = dict(_CALL.findall(block))
        found = []
        for name, status, kind, reasons in _EQUAL.findall(block):
            first = re.findall(r'"([^"]*)"', reasons)[:1]
            found.append(
                NavCase(
                    title,
                    calls[name],
                    status == "valid",
                    TYPES[kind] if kind else None,
                    NAV_REASONS[first[0]] if first else None,
                )
            )
        for name, status in _TO_BE.findall(block):
            found.append(NavCase(title, calls[name], status == "valid", None, None))
        assert found, f"no expectation understood in NAV test '{title}'"
        cases.extend(found)
    return cases


def test_every_nav_case_was_read() -> None:
    cases = _nav_cases()
    assert len(cases) == 25
    assert sum(case.valid for case in cases) == 15


def test_nav_cases() -> None:
    cases = _nav_cases()
    result = normalise_person_ids(
        pl.Series([case.value for case in cases]), policy=NORWAY, as_of=AS_OF_2032
    )
    for case, row in zip(cases, result.iter_rows(named=True), strict=True):
        assert row["valid"] == case.valid, case.title
        if case.kind is not None:
            assert row["kind"] == case.kind.value, case.title
        if case.first_reason is not None:
            assert row["reason"] == case.first_reason.value, case.title
        if case.valid:
            assert row["canonical"] == case.value


def test_a_person_born_in_2032_is_refused_on_an_earlier_extract_date() -> None:
    result = normalise_person_id("02013299997", policy=NORWAY, as_of=dt.date(2026, 11, 22))
    assert (result.valid, result.reason) == (False, IdReason.FUTURE_DATE)


def with_check_digits(nine: str) -> str:
    """Nine digits with both check digits, using the pre-2032 rule (K1 remainder 0)."""
    digits = [int(d) for d in nine]
    k1 = -sum(w * d for w, d in zip((3, 7, 6, 1, 8, 9, 4, 5, 2), digits, strict=True)) % 11
    digits.append(k1)
    k2 = -sum(w * d for w, d in zip((5, 4, 3, 2, 7, 6, 5, 4, 3, 2), digits, strict=True)) % 11
    if 10 in (k1, k2):
        raise ValueError("no check digit exists for this individual number")
    return nine + str(k1) + str(k2)


def test_written_forms_give_one_canonical_form() -> None:
    forms = ["13097248022", "130972 48022", "130972-48022", " 13097248022 "]
    result = normalise_person_ids(pl.Series(forms), policy=NORWAY, as_of=AS_OF_2032)
    assert set(result["canonical"]) == {"13097248022"}
    assert normalise_person_id("130972  48022", policy=NORWAY).reason is IdReason.MALFORMED


@pytest.mark.parametrize(
    ("nine", "birth_year"),
    [
        ("010190124", 1990),  # 000-499: 1900s
        ("010160600", 1860),  # 500-749 with YY 54-99: 1800s
        ("010110600", 2010),  # 500-999 with YY 00-39: 2000s
        ("010160950", 1960),  # 900-999 with YY 40-99: 1900s
    ],
)
def test_century_from_the_individual_number(nine: str, birth_year: int) -> None:
    result = normalise_person_id(with_check_digits(nine), policy=NORWAY)
    assert (result.valid, result.birth_year) == (True, birth_year)


def test_an_individual_number_outside_every_century_is_refused() -> None:
    result = normalise_person_id(with_check_digits("010160800"), policy=NORWAY)
    assert (result.valid, result.reason) == (False, IdReason.CENTURY)


def test_help_numbers_are_linked_only_when_the_policy_allows_interim_numbers() -> None:
    fh_number = with_check_digits("812345678")
    h_number = "13527248013"
    for value, kind in ((fh_number, IdKind.FH_NUMBER), (h_number, IdKind.H_NUMBER)):
        refused = normalise_person_id(value, policy=NORWAY)
        assert (refused.kind, refused.valid, refused.linkable) == (kind, True, False)
        assert refused.reason is IdReason.INTERIM_NOT_ALLOWED
        allowed = IdPolicy(country=Country.NO, allow_interim=True)
        assert normalise_person_id(value, policy=allowed).linkable
    assert normalise_person_id(fh_number, policy=NORWAY).birth_year is None


def test_d_numbers_are_linked_unless_the_policy_refuses_coordination_numbers() -> None:
    assert normalise_person_id("53097248016", policy=NORWAY).linkable
    strict = IdPolicy(country=Country.NO, allow_coordination=False)
    refused = normalise_person_id("53097248016", policy=strict)
    assert refused.reason is IdReason.COORDINATION_NOT_ALLOWED
