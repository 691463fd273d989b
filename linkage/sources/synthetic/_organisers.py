"""The organisers (huvudmän) of the synthetic municipality's schools.

Most schools are the municipality's own; as in Swedish compulsory schooling, some are run by
independent organisers and, in a larger municipality, one by the state. The mix is fixed by
the school's place in the list, not drawn, so it draws nothing from the random streams:

- the first school, and every school not named below, is municipal;
- every fifth school from the third (index 2, 7, 12, …) belongs to one independent
  aktiebolag (a school chain), and every fifth from the fifth (4, 9, 14, …) to one
  independent stiftelse (a foundation);
- the ninth school (index 8) is the state's (as a sameskola or a special school is).

Each organiser is an SS 12000 organisation of type ``Huvudman`` with an organisation number in
its legal form's series (``pseudonymise.organisation_numbers``), and each school unit names
its organiser as ``parentOrganisation``. The numbers carry valid check digits but are made up.
"""

from __future__ import annotations

from linkage.sources.synthetic._population import Organiser, School
from linkage.sources.synthetic._uuids import uuid_of
from pseudonymise.luhn import luhn_check_digit

STATE_SCHOOL = 8


def _number(payload: str) -> str:
    """Nine digits → ``NNNNNN-NNNC``, with the Luhn check digit."""
    ten = payload + str(luhn_check_digit(payload))
    return f"{ten[:6]}-{ten[6:]}"


def plant_organisers(
    seed: int, municipality_code: str, municipality: str, schools: list[School]
) -> list[Organiser]:
    """The organisers, the municipality first; sets each school's ``organiser``."""
    kinds = {  # kind → (name, the nine digits before the check digit, organiser type)
        "municipal": (municipality, f"212000{municipality_code[1:]}", "municipal"),
        "aktiebolag": ("Exempelskolor AB", f"5569{seed % 100_000:05d}", "independent"),
        "stiftelse": ("Stiftelsen Exempelbyskolan", f"8020{seed % 100_000:05d}", "independent"),
        "state": ("Exempelverket", "202100412", "state"),
    }
    used = ["municipal"]
    for school in schools:
        i = school.index
        kind = "municipal"
        if i == STATE_SCHOOL:
            kind = "state"
        elif i % 5 == 2:
            kind = "aktiebolag"
        elif i % 5 == 4:
            kind = "stiftelse"
        if kind not in used:
            used.append(kind)
        school.organiser = used.index(kind)
    organisers = []
    for k, kind in enumerate(used):
        name, digits, organiser_type = kinds[kind]
        organisers.append(
            Organiser(uuid_of(seed, "organiser", k), name, _number(digits), organiser_type)
        )
    return organisers
