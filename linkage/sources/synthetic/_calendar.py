"""The Swedish compulsory-school year: teaching days, terms, holidays and clock offsets.

A school year starting in autumn ``Y`` runs from the Monday of ISO week 34 of ``Y`` to the
Friday of ISO week 51 (autumn term, HT), and from the Monday of ISO week 2 of ``Y + 1`` to the
Friday of ISO week 23 (spring term, VT): 37 teaching weeks and about 178 days, as the
school ordinance requires. Holidays: autumn break (ISO week 44), sports break (week 8),
Easter break (the week after Easter Sunday) with Good Friday, Ascension Day and the Friday
after it, and the public holidays that fall on a weekday (1 May, 6 June).

Times are local (Europe/Stockholm); every timestamp carries its UTC offset, which changes on the
last Sundays of March and October.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from zoneinfo import ZoneInfo

STOCKHOLM = ZoneInfo("Europe/Stockholm")

# Months are weighted by how much absence they see (more in winter); the generator uses this
# to plant seasonality. Mean over a school year is close to 1.
MONTH_ABSENCE_FACTOR = {
    8: 0.70,
    9: 0.85,
    10: 1.00,
    11: 1.15,
    12: 1.20,
    1: 1.10,
    2: 1.25,
    3: 1.05,
    4: 0.90,
    5: 0.85,
    6: 0.80,
}


def easter_sunday(year: int) -> dt.date:
    """Easter Sunday in the Gregorian calendar (the anonymous Gregorian algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def _iso_monday(year: int, week: int) -> dt.date:
    return dt.date.fromisocalendar(year, week, 1)


@dataclass(frozen=True)
class Term:
    """One term: its code (``HT2026``, ``VT2027``) and first and last day, inclusive."""

    code: str
    start: dt.date
    end: dt.date


@dataclass(frozen=True)
class SchoolYear:
    """The teaching calendar of the school year that starts in the autumn of ``start_year``.

    ``weeks`` keeps only the first so many teaching weeks (for large synthetic runs).
    """

    start_year: int
    weeks: int | None = None

    @cached_property
    def terms(self) -> tuple[Term, Term]:
        y = self.start_year
        autumn = Term(f"HT{y}", _iso_monday(y, 34), _iso_monday(y, 51) + dt.timedelta(days=4))
        spring = Term(
            f"VT{y + 1}", _iso_monday(y + 1, 2), _iso_monday(y + 1, 23) + dt.timedelta(days=4)
        )
        return autumn, spring

    @property
    def first_day(self) -> dt.date:
        return self.terms[0].start

    @property
    def last_day(self) -> dt.date:
        """The last day of the school year (end of June), when duties and enrolments end."""
        return dt.date(self.start_year + 1, 6, 30)

    @cached_property
    def holidays(self) -> frozenset[dt.date]:
        y = self.start_year
        days: set[dt.date] = set()

        def week(year: int, iso_week: int) -> None:
            monday = _iso_monday(year, iso_week)
            days.update(monday + dt.timedelta(days=i) for i in range(5))

        week(y, 44)  # autumn break
        week(y + 1, 8)  # sports break
        easter = easter_sunday(y + 1)
        days.add(easter - dt.timedelta(days=2))  # Good Friday
        days.update(easter + dt.timedelta(days=i) for i in range(1, 6))  # Easter break
        ascension = easter + dt.timedelta(days=39)
        days.update({ascension, ascension + dt.timedelta(days=1)})
        days.update({dt.date(y + 1, 5, 1), dt.date(y + 1, 6, 6)})
        return frozenset(days)

    @cached_property
    def teaching_days(self) -> tuple[dt.date, ...]:
        """Every teaching day in order (Monday to Friday, not a holiday, within a term)."""
        out: list[dt.date] = []
        week_keys: list[tuple[int, int]] = []
        for term in self.terms:
            day = term.start
            while day <= term.end:
                if day.weekday() < 5 and day not in self.holidays:
                    key = day.isocalendar()[:2]
                    if not week_keys or week_keys[-1] != key:
                        if self.weeks is not None and len(week_keys) == self.weeks:
                            return tuple(out)
                        week_keys.append(key)
                    out.append(day)
                day += dt.timedelta(days=1)
        return tuple(out)

    @cached_property
    def week_of_day(self) -> tuple[int, ...]:
        """For each teaching day, the index (0, 1, …) of its teaching week."""
        out: list[int] = []
        last: tuple[int, int] | None = None
        for day in self.teaching_days:
            key = day.isocalendar()[:2]
            if key != last:
                last = key
                out.append(out[-1] + 1 if out else 0)
            else:
                out.append(out[-1])
        return tuple(out)

    @property
    def n_weeks(self) -> int:
        return self.week_of_day[-1] + 1 if self.week_of_day else 0

    def term_of(self, day: dt.date) -> Term:
        for term in self.terms:
            if term.start <= day <= term.end:
                return term
        raise ValueError("the day is outside both terms")


def utc_offset(day: dt.date) -> str:
    """The Stockholm UTC offset on ``day`` at school hours, as ``+01:00`` or ``+02:00``."""
    offset = dt.datetime(day.year, day.month, day.day, 12, tzinfo=STOCKHOLM).utcoffset()
    assert offset is not None
    hours = int(offset.total_seconds() // 3600)
    return f"+{hours:02d}:00"
