"""Swedish identity numbers for synthetic people, none of which can belong to a real person.

Order of preference, for a person born on a given year:

1. One of Skatteverket's official **test personnummer** with that birth year (see
   ``data/NOTICE.md``): reserved for testing, never issued. The person's birth date is the
   number's own date, so the two agree as in a real register.
2. When the test numbers of that year run out (they number a few hundred to about 750 a year,
   far fewer than the pupils of a large municipality), a **minted** number: a random date in
   the person's birth year moved back exactly 400 years (the Gregorian calendar repeats every
   400 years, so every date, 29 February included, stays valid), a random serial and the Luhn
   check digit, in the 12-digit form. The personnummer system began in 1947, so no number with
   a birth date before the 1840s was ever issued, and none can be. Such a person's
   ``birthDate`` is the real (unshifted) date: the two disagree on purpose, which
   ``truth.json`` counts.

Realistic dirt is planted on top: a few samordningsnummer (also Skatteverket test numbers), a
few numbers with a wrong check digit, interim numbers with a letter, short (10-digit) written
forms, and one person without any number.

Only zone-0 code may call this module: it makes raw identifiers.
"""

from __future__ import annotations

import datetime as dt
import gzip
from collections import defaultdict
from dataclasses import dataclass
from importlib import resources

import numpy as np

from pseudonymise.luhn import luhn_check_digit

MINT_SHIFT_YEARS = 400
INTERIM_LETTERS = "TRSUWXJKLMN"


def _load(name: str) -> list[str]:
    raw = resources.files(__package__).joinpath("data").joinpath(name).read_bytes()
    return gzip.decompress(raw).decode("ascii").split()


def _pin_date(pin: str) -> dt.date:
    """The birth date a number carries. A samordningsnummer adds 60 to the day, and may carry
    month 00 or day 60 when the birth date is not known: the first of the month (or year)."""
    day = int(pin[6:8])
    if day >= 60:
        day -= 60
    month = int(pin[4:6])
    return dt.date(int(pin[:4]), month or 1, day or 1)


def with_check_digit(long_payload: str) -> str:
    """``YYYYMMDDNNN`` → the 12-digit number with its Luhn check digit."""
    return long_payload + str(luhn_check_digit(long_payload[2:]))


def short_form(pin: str, separator: str = "-") -> str:
    """``YYYYMMDDNNNC`` → ``YYMMDD-NNNC`` (the 10-digit written form)."""
    return f"{pin[2:8]}{separator}{pin[8:]}"


@dataclass(frozen=True)
class IssuedId:
    """The identity number given to one synthetic person and how it came about."""

    value: str | None  # None: the person has no number in the extract
    birth_date: dt.date
    kind: str  # test_pin | minted | coordination | wrong_check_digit | interim | missing


class IdAllocator:
    """Hands out unique identity numbers by birth year, deterministically for one ``rng``."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._pins: dict[int, list[str]] = defaultdict(list)
        for pin in _load("skatteverket_test_personnummer.txt.gz"):
            self._pins[int(pin[:4])].append(pin)
        self._coords: dict[int, list[str]] = defaultdict(list)
        for pin in _load("skatteverket_test_samordningsnummer.txt.gz"):
            try:
                _pin_date(pin)
            except ValueError:
                continue  # 24 of the test numbers carry an impossible date (31 April, 30 February)
            self._coords[int(pin[:4])].append(pin)
        for pool in (*self._pins.values(), *self._coords.values()):
            rng.shuffle(pool)
        self._used: set[str] = set()

    def _fresh_date(self, year: int) -> dt.date:
        start = dt.date(year, 1, 1)
        days = (dt.date(year + 1, 1, 1) - start).days
        return start + dt.timedelta(days=int(self._rng.integers(days)))

    def person_number(self, birth_year: int) -> IssuedId:
        """A test personnummer of that year, else a minted one."""
        pool = self._pins.get(birth_year)
        while pool:
            pin = pool.pop()
            if pin not in self._used:
                self._used.add(pin)
                return IssuedId(pin, _pin_date(pin), "test_pin")
        while True:
            birth = self._fresh_date(birth_year)
            shifted = birth.replace(year=birth.year - MINT_SHIFT_YEARS)
            serial = int(self._rng.integers(1, 1000))
            pin = with_check_digit(f"{shifted:%Y%m%d}{serial:03d}")
            if pin not in self._used:
                self._used.add(pin)
                return IssuedId(pin, birth, "minted")

    def coordination_number(self, birth_year: int) -> IssuedId:
        """A test samordningsnummer of that year (or the nearest year that has one left)."""
        years = sorted(self._coords, key=lambda y: (abs(y - birth_year), y))
        for year in years:
            pool = self._coords[year]
            if pool:
                pin = pool.pop()
                self._used.add(pin)
                return IssuedId(pin, _pin_date(pin), "coordination")
        return self.person_number(birth_year)

    def wrong_check_digit(self, birth_year: int) -> IssuedId:
        """A number whose check digit is off by one: invalid, as real feeds sometimes carry."""
        good = self.person_number(birth_year)
        assert good.value is not None
        bad_digit = (int(good.value[-1]) + 1 + int(self._rng.integers(8))) % 10
        return IssuedId(good.value[:-1] + str(bad_digit), good.birth_date, "wrong_check_digit")

    def interim_number(self, birth_year: int) -> IssuedId:
        """An interim number (a letter in the serial), which linkage must not use by default."""
        birth = self._fresh_date(birth_year)
        letter = INTERIM_LETTERS[int(self._rng.integers(len(INTERIM_LETTERS)))]
        digits = f"{int(self._rng.integers(100)):02d}"
        # The letter counts as 1 in the Luhn sum (personnummer specification v3.1).
        check = luhn_check_digit(f"{birth:%y%m%d}1{digits}")
        return IssuedId(f"{birth:%Y%m%d}{letter}{digits}{check}", birth, "interim")
