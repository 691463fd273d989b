"""Properties of national-ID handling: every written form of one ID gives one pseudonym, the
vectorised Swedish parser agrees with a plain one-value reference, and no input crashes."""

from __future__ import annotations

import datetime as dt
import re

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from pseudonymise import (
    Country,
    IdPolicy,
    Pseudonymiser,
    Unlinkable,
    luhn_check_digit,
    luhn_valid,
    normalise_person_ids,
)
from tests.property.test_pseudonymise_hashing import TEXT, WHITE_SPACE, key_of

AS_OF = dt.date(2026, 11, 22)
LETTERS = "TRSUWXJKLMN"
INTERIM = IdPolicy(allow_interim=True)
SPACE = st.sampled_from(["", " ", "\t", "  "])


@st.composite
def swedish_ids(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A valid Swedish ID (canonical form) and several of its written forms."""
    born = draw(st.dates(dt.date(1830, 1, 1), AS_OF))
    kind = draw(st.sampled_from(["pin", "coordination", "interim"]))
    day = born.day + (60 if kind == "coordination" else 0)
    serial = draw(st.integers(1, 999))
    letter = draw(st.sampled_from(LETTERS)) if kind == "interim" else None
    serial_text = f"{serial:03d}" if letter is None else letter + f"{serial % 100:02d}"
    payload = f"{born:%y%m}{day:02d}" + serial_text.replace(letter or "#", "1")
    check = luhn_check_digit(payload)
    canonical = f"{born:%Y%m}{day:02d}{serial_text}{check}"
    # '+' from the year the person turns 100 (Skatteverket's rule)
    short_separator = "+" if born.year <= AS_OF.year - 100 else draw(st.sampled_from(["-", ""]))
    date8, date6, rest = canonical[:8], canonical[2:8], canonical[8:]
    forms = [
        canonical,
        f"{date8}-{rest}",
        f"{date8}+{rest}",
        f"{date6}{short_separator}{rest}",
        f"{date6}{short_separator}{rest.lower()}",
    ]
    pad = draw(st.lists(SPACE, min_size=2 * len(forms), max_size=2 * len(forms)))
    return canonical, [f"{pad[2 * i]}{f}{pad[2 * i + 1]}" for i, f in enumerate(forms)]


@settings(deadline=None, max_examples=150)
@given(swedish_ids())
def test_every_written_form_gives_one_canonical_form(drawn: tuple[str, list[str]]) -> None:
    canonical, forms = drawn
    result = normalise_person_ids(pl.Series(forms), policy=INTERIM, as_of=AS_OF)
    assert result["canonical"].to_list() == [canonical] * len(forms)
    assert result["linkable"].all()


@settings(deadline=None, max_examples=60)
@given(st.lists(swedish_ids(), min_size=1, max_size=5))
def test_every_written_form_gives_one_pseudonym(people: list[tuple[str, list[str]]]) -> None:
    with Pseudonymiser(key_of(bytes(32)), workers=1) as pseudonymiser:
        for canonical, forms in people:
            pids = pseudonymiser.pseudonymise(
                "student", pl.Series(forms), policy=INTERIM, as_of=AS_OF
            )
            expected = pseudonymiser.pseudonymise_one(
                "student", canonical, policy=INTERIM, as_of=AS_OF
            )
            assert pids.to_list() == [expected] * len(forms)


def _reference_year(century: str | None, yy: str, plus: bool, month: int, day: int) -> int:
    if century is not None:
        return int(century + yy)
    if plus:  # the latest year at least 100 years before the year of reading
        return AS_OF.year - 100 - (AS_OF.year - 100 - int(yy)) % 100
    year = AS_OF.year - (AS_OF.year - int(yy)) % 100
    return year - 100 if year == AS_OF.year and (month, day) > (AS_OF.month, AS_OF.day) else year


def _possible(year: int, month: int, day: int, coordination: bool) -> bool:
    if coordination:
        return year >= 1 and 0 <= month <= 12 and 0 <= day <= 31
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True


def reference(text: str) -> str | None:
    """A plain one-value reading of the Swedish rules (as of AS_OF): canonical form or None."""
    match = re.fullmatch(
        r"([0-9]{2})?([0-9]{2})([0-9]{2})([0-9]{2})([-+]?)([0-9TRSUWXJKLMNtrsuwxjklmn])"
        r"([0-9]{2})([0-9])",
        text.strip(WHITE_SPACE),
    )
    if match is None:
        return None
    century, yy, mm, dd, separator, first, serial2, check = match.groups()
    interim = first.isalpha()
    coordination = not interim and int(dd) >= 60
    month, day = int(mm), int(dd) - (60 if coordination else 0)
    year = _reference_year(century, yy, separator == "+", month, day)
    valid = (
        luhn_valid(yy + mm + dd + ("1" if interim else first) + serial2 + check)
        and _possible(year, month, day, coordination)
        and (interim or first + serial2 != "000")
        and (year, month, day) <= (AS_OF.year, AS_OF.month, AS_OF.day)
    )
    return f"{year:04d}{mm}{dd}{first.upper()}{serial2}{check}" if valid else None


NEAR_SWEDISH = st.from_regex(
    r"\A[ \t]?([0-9]{2})?[0-9]{6}[-+ /]?[0-9TRSUWXJKLMNEtr][0-9]{3}[ \t]?\Z", fullmatch=True
)


@settings(deadline=None, max_examples=300)
@given(st.lists(st.one_of(NEAR_SWEDISH, swedish_ids().map(lambda d: d[1][3])), max_size=20))
def test_vectorised_parser_agrees_with_the_reference(values: list[str]) -> None:
    result = normalise_person_ids(pl.Series(values, dtype=pl.String), policy=INTERIM, as_of=AS_OF)
    for value, canonical in zip(values, result["canonical"], strict=True):
        assert canonical == reference(value), value


@settings(deadline=None, max_examples=100)
@given(
    values=st.lists(st.one_of(st.none(), TEXT, NEAR_SWEDISH), max_size=20),
    country=st.sampled_from(list(Country)),
)
def test_no_input_crashes(values: list[str | None], country: Country) -> None:
    column = pl.Series(values, dtype=pl.String)
    policy = IdPolicy(country=country)
    checked = normalise_person_ids(column, policy=policy, as_of=AS_OF)
    assert checked.height == len(values)
    assert (checked["canonical"].is_not_null() == checked["valid"]).all()
    assert (~checked["linkable"] | checked["valid"]).all()
    assert (checked["reason"].is_null() == checked["linkable"]).all()
    with Pseudonymiser(key_of(bytes(32)), workers=1) as pseudonymiser:
        people = pseudonymiser.pseudonymise_people(
            "teacher", column, local_ids=column, source="s", policy=policy, as_of=AS_OF
        )
        assert people.height == len(values)
        linked = people["id_status"] == "linked"
        assert (people["teacher_pid"].filter(linked) >= 0).all()
        assert (people["teacher_pid"].filter(people["id_status"] == "local") < 0).all()
        quarantine = IdPolicy(country=country, on_unlinkable=Unlinkable.QUARANTINE)
        pseudonymiser.pseudonymise_people("student", column, policy=quarantine, as_of=AS_OF)


@settings(deadline=None, max_examples=200)
@given(
    st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)),
    st.dates(dt.date(1800, 1, 1), dt.date(2100, 12, 31)),
    st.integers(1, 999),
)
def test_plus_means_a_hundred_or_more_in_the_year_of_reading(
    as_of: dt.date, born: dt.date, serial: int
) -> None:
    """With '+', the birth year is the latest one ending in the written digits for which the
    person is 100 or older in the year of reading, whatever the day of either date."""
    born = born.replace(day=min(born.day, 28))  # 29 February is not in every century
    payload = f"{born:%y%m%d}{serial:03d}"
    written = f"{payload[:6]}+{payload[6:]}{luhn_check_digit(payload)}"
    result = normalise_person_ids(pl.Series([written]), policy=INTERIM, as_of=as_of)
    year = int(result["canonical"][0][:4])
    assert year % 100 == born.year % 100
    assert 100 <= as_of.year - year < 200
