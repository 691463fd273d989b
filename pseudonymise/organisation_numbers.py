"""The kind of a school's organiser (huvudman), read from its Swedish organisation number.

SS 12000 has no field for the kind of organiser; the organiser's organisation number says it.
An organisation number (lag 1974:174 om identitetsbeteckning för juridiska personer m.fl.) is
ten digits ``GNNNNN-NNNC``: the first is the **group digit**, the legal form's group; the third
is at least 2, so that it is never a personnummer; the last is the Luhn check digit of the
other nine. The 12-digit form puts ``16`` in front.

Group 2 (state, regions, municipalities, parishes) is split by the series Statistics Sweden
assigns to the public sector, read from the first four digits:

====================  ==========  ======================================================
first digits          kind        who
====================  ==========  ======================================================
``2021``              state       the state's authorities (Skolverket is 202100-4185)
``2120``              municipal   municipalities (Stockholms stad is 212000-0142)
``2220``              municipal   municipal federations (kommunalförbund), whose schools
                                  official school statistics count as municipal
``2321``              regional    regions, the former county councils (landsting)
other ``2…``          unknown     another public-sector series (a parish, say): not
                                  guessed
====================  ==========  ======================================================

Every other group is an **independent** (enskild) organiser: 5 aktiebolag, 7 ekonomiska
föreningar, 8 ideella föreningar and stiftelser, 9 handelsbolag, 1, 3 and 6 the rarer legal
forms. The digits 0 and 4 begin no organisation number: unknown. A sole trader's organisation
number is their personnummer (third digit 0 or 1, or a samordningsnummer): a natural person,
who may be an independent organiser too (skollagen 1 kap. 3 §); only the kind is kept.

Organisation numbers of legal persons are public, but the number itself never leaves this
function: callers get only the kind, and, when it is unknown, the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from pseudonymise.luhn import luhn_valid


class OrganiserType(StrEnum):
    """The kind of organiser, as official school statistics group them."""

    MUNICIPAL = "municipal"
    INDEPENDENT = "independent"
    REGIONAL = "regional"
    STATE = "state"
    UNKNOWN = "unknown"


# The public-sector series of group 2, by the first four digits.
PUBLIC_SERIES: dict[str, OrganiserType] = {
    "2021": OrganiserType.STATE,
    "2120": OrganiserType.MUNICIPAL,
    "2220": OrganiserType.MUNICIPAL,
    "2321": OrganiserType.REGIONAL,
}
_FORM = re.compile(r"(?:(?P<century>16|18|19|20)(?=\d{6}[-+]?\d{4}$))?(?P<ten>\d{6}[-+]?\d{4})")


@dataclass(frozen=True)
class OrganiserReading:
    """What an organisation number says: the kind of organiser, and why it is unknown."""

    organiser_type: OrganiserType
    reason: str | None = None  # set exactly when organiser_type is UNKNOWN

    def __post_init__(self) -> None:
        if (self.organiser_type is OrganiserType.UNKNOWN) != (self.reason is not None):
            raise ValueError("a reason is given exactly when the organiser type is unknown")


def classify_organisation_number(value: object) -> OrganiserReading:
    """The kind of organiser whose organisation number is ``value`` (``212000-0142``,
    ``2120000142``, ``16212000-0142`` …; spaces are ignored). Never raises: a missing or
    malformed number is ``unknown``, with the reason."""
    digits = _ten_digits(value)
    if digits.reason is not None:
        return OrganiserReading(OrganiserType.UNKNOWN, digits.reason)
    kind, reason = _kind(digits.value)
    return OrganiserReading(kind, reason)


@dataclass(frozen=True)
class _Digits:
    value: str = ""
    reason: str | None = None


def _ten_digits(value: object) -> _Digits:
    """The ten digits of a well-formed number, or why it is not one."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return _Digits(reason="missing")
    if not isinstance(value, str):
        return _Digits(reason="not text")
    text = "".join(value.split())
    match = _FORM.fullmatch(text) if text.isascii() else None
    if match is None:
        return _Digits(reason="not an organisation number (ten digits, NNNNNN-NNNN)")
    digits = match["ten"].replace("-", "").replace("+", "")
    if not luhn_valid(digits):
        return _Digits(reason="wrong check digit")
    personal = digits[2] in "01"
    century = match["century"]
    if (century == "16" and personal) or (century in ("18", "19", "20") and not personal):
        return _Digits(reason="not an organisation number (its 12-digit prefix does not fit)")
    return _Digits(digits)


def _kind(digits: str) -> tuple[OrganiserType, str | None]:
    group = digits[0]
    if digits[2] in "01":  # a sole trader's personnummer or samordningsnummer
        return OrganiserType.INDEPENDENT, None
    if group == "2":
        kind = PUBLIC_SERIES.get(digits[:4])
        if kind is None:
            return OrganiserType.UNKNOWN, (
                "a public-sector number outside the state, municipal and regional series"
            )
        return kind, None
    if group in "04":
        return OrganiserType.UNKNOWN, f"group digit {group} begins no organisation number"
    return OrganiserType.INDEPENDENT, None
