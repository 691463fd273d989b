"""The kind of a school's organiser from its Swedish organisation number: each series and legal
form, the written forms, and every way a number can be missing or malformed (unknown, with the
reason, never an exception)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pseudonymise import (
    OrganiserReading,
    OrganiserType,
    classify_organisation_number,
    luhn_check_digit,
)

MUNICIPAL, INDEPENDENT = OrganiserType.MUNICIPAL, OrganiserType.INDEPENDENT
REGIONAL, STATE, UNKNOWN = OrganiserType.REGIONAL, OrganiserType.STATE, OrganiserType.UNKNOWN


def _number(nine: str) -> str:
    """Nine digits → ``NNNNNN-NNNC`` with the Luhn check digit."""
    return f"{nine[:6]}-{nine[6:]}{luhn_check_digit(nine)}"


@pytest.mark.parametrize(
    ("number", "kind"),
    [
        ("212000-0142", MUNICIPAL),  # Stockholms stad
        ("212000-1355", MUNICIPAL),  # Göteborgs stad
        (_number("222000123"), MUNICIPAL),  # a kommunalförbund
        (_number("232100001"), REGIONAL),  # a region
        ("202100-4185", STATE),  # Skolverket
        ("556036-0793", INDEPENDENT),  # an aktiebolag (group 5)
        (_number("802000001"), INDEPENDENT),  # a stiftelse (group 8)
        (_number("769600123"), INDEPENDENT),  # an ekonomisk förening (group 7)
        (_number("916500123"), INDEPENDENT),  # a handelsbolag (group 9)
        ("121212-1212", INDEPENDENT),  # a sole trader: their personnummer
        ("19121212-1212", INDEPENDENT),  # the same in its 12-digit form
    ],
)
def test_each_series_and_legal_form_has_its_kind(number: str, kind: OrganiserType) -> None:
    assert classify_organisation_number(number) == OrganiserReading(kind)


@pytest.mark.parametrize(
    "written", ["2120000142", "16212000-0142", "162120000142", " 212000 - 0142 ", "212000+0142"]
)
def test_the_written_forms_of_one_number_agree(written: str) -> None:
    assert classify_organisation_number(written).organiser_type is MUNICIPAL


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "missing"),
        ("", "missing"),
        ("   ", "missing"),
        (2120000142, "not text"),
        ({"value": "212000-0142"}, "not text"),
        ("212000-014", "not an organisation number (ten digits, NNNNNN-NNNN)"),
        ("212000-01422", "not an organisation number (ten digits, NNNNNN-NNNN)"),
        ("21200O-0142", "not an organisation number (ten digits, NNNNNN-NNNN)"),
        ("２１２０００-０１４２", "not an organisation number (ten digits, NNNNNN-NNNN)"),
        ("organisationNumber", "not an organisation number (ten digits, NNNNNN-NNNN)"),
        ("212000-0143", "wrong check digit"),
        ("16121212-1212", "not an organisation number (its 12-digit prefix does not fit)"),
        ("19212000-0142", "not an organisation number (its 12-digit prefix does not fit)"),
        (
            _number("252000123"),
            "a public-sector number outside the state, municipal and regional series",
        ),
        (_number("002000123"), "group digit 0 begins no organisation number"),
        (_number("402000123"), "group digit 4 begins no organisation number"),
    ],
)
def test_a_missing_or_malformed_number_is_unknown_with_its_reason(
    value: object, reason: str
) -> None:
    assert classify_organisation_number(value) == OrganiserReading(UNKNOWN, reason)


def test_a_reason_is_given_exactly_when_the_kind_is_unknown() -> None:
    with pytest.raises(ValueError, match="exactly when"):
        OrganiserReading(UNKNOWN)
    with pytest.raises(ValueError, match="exactly when"):
        OrganiserReading(MUNICIPAL, "why")


def test_published_organisation_numbers_read_as_their_legal_form(
    shared: Callable[[str], Path],
) -> None:
    """The personnummer project's organisation numbers (the AP funds', group 8), checked
    there to be valid organisation numbers and not personnummer: each has a valid check digit
    here too, in each written form, and its group digit's kind."""
    cases = json.loads(shared("testdata/national_ids/orgnumber.json").read_text("utf-8"))
    assert len(cases) >= 5
    for case in cases:
        assert case["type"] == "org"
        for form in ("short_format", "separated_format"):
            reading = classify_organisation_number(case[form])
            assert reading == OrganiserReading(INDEPENDENT), (case[form], reading)
        assert classify_organisation_number(f"16{case['short_format']}").reason is None


@given(st.one_of(st.text(max_size=20), st.none(), st.integers(), st.binary(max_size=12)))
def test_any_value_gives_a_kind_and_never_raises(value: object) -> None:
    reading = classify_organisation_number(value)
    assert (reading.organiser_type is UNKNOWN) == (reading.reason is not None)


@given(st.integers(min_value=0, max_value=99_999))
def test_every_number_of_a_municipal_series_is_municipal(serial: int) -> None:
    nine = f"2120{serial:05d}"
    assert classify_organisation_number(_number(nine)).organiser_type is MUNICIPAL
