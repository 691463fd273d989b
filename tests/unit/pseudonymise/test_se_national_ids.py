"""Swedish IDs against the personnummer project's vectors and Skatteverket's test numbers.

Choices where the sources disagree (docs/explanation/national-ids.md): serial 000 and a space
as separator are invalid (personnummer specification; python-stdnum accepts both);
samordningsnummer are valid (stdnum 2.2 rejects all of them); interim numbers are valid but
linked only where the policy allows them.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import polars as pl
import pytest

from pseudonymise import (
    IdKind,
    IdPolicy,
    IdReason,
    luhn_check_digit,
    normalise_person_id,
    normalise_person_ids,
)
from tests.conftest import shared_path

AS_OF = dt.date(2026, 11, 22)
FORMS = ("long_format", "short_format", "separated_format", "separated_long")
KINDS = {"ssn": IdKind.PERSONNUMMER, "con": IdKind.SAMORDNINGSNUMMER}


def pin(date_and_serial: str) -> str:
    """``YYYYMMDDNNN`` with its Luhn check digit appended."""
    return date_and_serial + str(luhn_check_digit(date_and_serial[2:]))


def _json(name: str) -> Any:
    return json.loads(shared_path(f"testdata/national_ids/{name}").read_text(encoding="utf-8"))


def _check(values: list[str], policy: IdPolicy | None = None) -> pl.DataFrame:
    return normalise_person_ids(pl.Series(values, dtype=pl.String), policy=policy, as_of=AS_OF)


def test_list_json_every_written_form() -> None:
    entries = _json("list.json")
    assert len(entries) == 14
    for entry in entries:
        result = _check([entry[form] for form in FORMS])
        assert result["valid"].to_list() == [entry["valid"]] * 4, entry["long_format"]
        if entry["valid"]:
            assert set(result["kind"]) == {KINDS[entry["type"]].value}
            long, short, separated, separated_long = result["canonical"].to_list()
            assert long == separated == separated_long == entry["long_format"]
            # Without a separator a 10-digit form is read as under 100 years old.
            born = int(entry["long_format"][:4])
            assert short == (entry["long_format"] if born > AS_OF.year - 100 else f"20{short[2:]}")


def test_list_json_disagreements_follow_the_specification() -> None:
    serial_000 = normalise_person_id("201509160006", as_of=AS_OF)
    assert (serial_000.valid, serial_000.reason) == (False, IdReason.SERIAL)
    space = normalise_person_id("19090527 1474", as_of=AS_OF)
    assert (space.valid, space.reason, space.kind) == (False, IdReason.MALFORMED, IdKind.UNKNOWN)


def test_structured_json_strings_and_integers() -> None:
    structured = _json("structured.json")
    for kind in ("ssn", "con"):
        for expected in ("valid", "invalid"):
            strings = structured[kind]["string"][expected]
            assert _check(strings)["valid"].to_list() == [expected == "valid"] * len(strings)
            integers = pl.Series(structured[kind]["integer"][expected], dtype=pl.Int64)
            checked = normalise_person_ids(integers, as_of=AS_OF)
            assert checked["valid"].to_list() == [expected == "valid"] * len(integers)


def test_interim_numbers_are_valid_but_linked_only_when_allowed() -> None:
    entries = _json("interim.json")
    valid = [entry for entry in entries if entry["valid"]]
    assert len(valid) == 11
    assert {entry["long_format"][8] for entry in valid} == set("TRSUWXJKLMN")
    for entry in entries:
        forms = [entry[form] for form in FORMS]
        refused = _check(forms)
        allowed = _check(forms, IdPolicy(allow_interim=True))
        assert refused["valid"].to_list() == [entry["valid"]] * 4
        assert not any(refused["linkable"])
        assert allowed["linkable"].to_list() == [entry["valid"]] * 4
        if entry["valid"]:
            assert set(refused["reason"]) == {IdReason.INTERIM_NOT_ALLOWED.value}
            assert set(allowed["canonical"]) == {entry["long_format"]}
            assert set(allowed["kind"]) == {IdKind.INTERIM.value}
        else:  # E is not an interim letter
            assert set(refused["reason"]) == {IdReason.MALFORMED.value}


def test_interim_letter_counts_as_one_in_the_luhn_sum() -> None:
    policy = IdPolicy(allow_interim=True)
    assert normalise_person_id("20000101T220", policy=policy, as_of=AS_OF).linkable
    assert normalise_person_id("20000101t220", policy=policy, as_of=AS_OF).canonical == (
        "20000101T220"
    )
    wrong_check = normalise_person_id("20000101T221", policy=policy, as_of=AS_OF)
    assert wrong_check.reason is IdReason.CHECK_DIGIT


def test_organisation_numbers_are_not_people() -> None:
    entries = _json("orgnumber.json")
    forms = [entry[form] for entry in entries for form in ("short_format", "separated_format")]
    result = _check([*forms, "16" + entries[0]["short_format"]])
    assert set(result["kind"]) == {IdKind.ORGANISATION.value}
    assert set(result["reason"]) == {IdReason.ORGANISATION.value}
    assert not any(result["valid"])


def test_all_of_skatteverkets_test_personnummer_are_valid() -> None:
    pins = _json("allPins.json")
    assert len(pins) == 41_129
    result = _check(pins)
    assert result["valid"].all()
    assert result["linkable"].all()
    assert set(result["kind"]) == {IdKind.PERSONNUMMER.value}
    assert result["canonical"].to_list() == pins
    assert result["birth_year"].to_list() == [int(pin[:4]) for pin in pins]


def test_all_of_skatteverkets_test_samordningsnummer_are_valid() -> None:
    coords = _json("allCoords.json")
    assert len(coords) == 2_264
    result = _check(coords)
    assert result["valid"].all()
    assert set(result["kind"]) == {IdKind.SAMORDNINGSNUMMER.value}
    assert result["canonical"].to_list() == coords
    # They use month 00 and day 60 for an unknown month or day, and days past the month's
    # end (30 February), so only the ranges are checked.
    assert any(coord[4:6] == "00" for coord in coords)
    assert any(coord[6:8] == "60" for coord in coords)
    refused = _check(coords, IdPolicy(allow_coordination=False))
    assert set(refused["reason"]) == {IdReason.COORDINATION_NOT_ALLOWED.value}


def test_skolverkets_sample_civic_number_fails_its_check_digit() -> None:
    people = json.loads(
        shared_path("testdata/ss12000-skolverket/person.json").read_text(encoding="utf-8")
    )
    assert people["civicNo"]["value"] == "200112240129"
    assert normalise_person_id("200112240129", as_of=AS_OF).reason is IdReason.CHECK_DIGIT
    assert normalise_person_id("200112240122", as_of=AS_OF).valid


@pytest.mark.parametrize(
    ("written", "as_of", "canonical"),
    [
        ("0905271474", dt.date(2026, 11, 22), "200905271474"),  # '-' or none: under 100
        ("090527-1474", dt.date(2026, 11, 22), "200905271474"),
        ("090527+1474", dt.date(2026, 11, 22), "190905271474"),  # '+': 100 or older
        ("19090527-1474", dt.date(2026, 11, 22), "190905271474"),  # 12 digits: as written
        # Born later in the year than the extract date: the previous century.
        (
            pin("19261231238")[2:8] + "-" + pin("19261231238")[8:],
            dt.date(2026, 11, 22),
            pin("19261231238"),
        ),
        (
            pin("20261231238")[2:8] + "-" + pin("20261231238")[8:],
            dt.date(2026, 12, 31),
            pin("20261231238"),
        ),
        (
            pin("19261231238")[2:8] + "+" + pin("19261231238")[8:],
            dt.date(2026, 12, 31),
            pin("19261231238"),
        ),
        (" 4608239986 ", dt.date(2026, 11, 22), "194608239986"),
        # '+' is written from the year the person turns 100 (Skatteverket): born in December
        # 1926 and read in November 2026 is 1926, not 1826.
        (
            pin("19261215093")[2:8] + "+" + pin("19261215093")[8:],
            dt.date(2026, 11, 22),
            pin("19261215093"),
        ),
        (
            pin("19261215093")[2:8] + "+" + pin("19261215093")[8:],
            dt.date(2027, 1, 5),
            pin("19261215093"),
        ),
        # Read a year earlier, '+' cannot be 1926 (99 that year): the century before.
        (
            pin("19261215093")[2:8] + "+" + pin("19261215093")[8:],
            dt.date(2025, 12, 31),
            pin("18261215093"),
        ),
    ],
)
def test_century_of_a_ten_digit_form(written: str, as_of: dt.date, canonical: str) -> None:
    result = normalise_person_id(written, as_of=as_of)
    assert (result.valid, result.canonical) == (True, canonical)


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        (None, IdReason.MISSING),
        ("", IdReason.MISSING),
        ("   ", IdReason.MISSING),
        ("19460823-998", IdReason.MALFORMED),
        ("19460823/9986", IdReason.MALFORMED),
        ("194608239986x", IdReason.MALFORMED),
        ("١٩٤٦٠٨٢٣٩٩٨٦", IdReason.MALFORMED),  # digits from another script
        ("194608239987", IdReason.CHECK_DIGIT),
        (pin("19000229239"), IdReason.DATE),  # 1900 was not a leap year
        (pin("19901301238"), IdReason.DATE),
        (pin("19900431238"), IdReason.DATE),
        (pin("19900440238"), IdReason.DATE),  # day 40: neither a date nor day + 60
        (pin("19900492238"), IdReason.DATE),  # day 92: past day 31 + 60
        (pin("20261231238"), IdReason.FUTURE_DATE),
        (pin("19900101000"), IdReason.SERIAL),
        (pin("00000101123"), IdReason.DATE),  # there was no year 0
    ],
)
def test_refusals_and_their_reasons(written: str | None, reason: IdReason) -> None:
    result = normalise_person_id(written, as_of=AS_OF)
    assert (result.valid, result.linkable, result.reason) == (False, False, reason)
    assert result.canonical is None


def test_integer_column_loses_leading_zeros_and_is_then_malformed() -> None:
    result = normalise_person_ids(pl.Series([2292399], dtype=pl.Int64), as_of=AS_OF)
    assert result["reason"].to_list() == [IdReason.MALFORMED.value]


def test_repeated_values_are_checked_once_and_mapped_back() -> None:
    values = ["460823-9986", None, "19460823-9986", "460823-9986", "x", None]
    result = _check(values)
    assert result["canonical"].to_list() == [
        "194608239986",
        None,
        "194608239986",
        "194608239986",
        None,
        None,
    ]
    assert result["reason"].to_list() == [None, "missing", None, None, "malformed", "missing"]
