from __future__ import annotations

import datetime as dt

import pytest

from linkage.sources.synthetic._calendar import SchoolYear, easter_sunday, utc_offset


@pytest.mark.parametrize(
    ("year", "easter"),
    [
        (2024, dt.date(2024, 3, 31)),
        (2025, dt.date(2025, 4, 20)),
        (2027, dt.date(2027, 3, 28)),
        (2038, dt.date(2038, 4, 25)),
        (2000, dt.date(2000, 4, 23)),
    ],
)
def test_easter_sunday(year: int, easter: dt.date) -> None:
    assert easter_sunday(year) == easter


def test_school_year_2026_27() -> None:
    year = SchoolYear(2026)
    autumn, spring = year.terms
    assert (autumn.code, autumn.start, autumn.end) == (
        "HT2026",
        dt.date(2026, 8, 17),
        dt.date(2026, 12, 18),
    )
    assert (spring.code, spring.start, spring.end) == (
        "VT2027",
        dt.date(2027, 1, 11),
        dt.date(2027, 6, 11),
    )
    days = year.teaching_days
    assert year.n_weeks == 37
    assert len(days) == 182
    assert all(d.weekday() < 5 for d in days)
    for holiday in (
        dt.date(2026, 10, 28),
        dt.date(2027, 3, 26),
        dt.date(2027, 3, 31),
        dt.date(2027, 5, 6),
        dt.date(2027, 5, 7),
        dt.date(2027, 2, 24),
    ):
        assert holiday not in days


def test_weeks_keeps_the_first_teaching_weeks() -> None:
    year = SchoolYear(2026, weeks=2)
    assert year.n_weeks == 2
    assert year.teaching_days[0] == dt.date(2026, 8, 17)
    assert year.teaching_days[-1] == dt.date(2026, 8, 28)


def test_utc_offset_follows_summer_time() -> None:
    assert utc_offset(dt.date(2026, 10, 23)) == "+02:00"
    assert utc_offset(dt.date(2026, 10, 26)) == "+01:00"  # after the last Sunday of October
    assert utc_offset(dt.date(2027, 3, 29)) == "+02:00"
