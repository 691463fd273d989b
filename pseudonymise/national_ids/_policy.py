"""The ID policy: which national IDs may be linked, and what happens to the others.

A person's row is hashed into a person domain (``student``, ``teacher``) only when its ID is
valid *and* the policy allows its kind. Every other row is handled by ``on_unlinkable``:

- ``Unlinkable.LOCAL`` (default): the row gets a **source-local pseudonym**, from the source
  system's own identifier of the person, in ``student-local`` / ``teacher-local``. Local
  pseudonyms are always negative, so they cannot join to a register (whose pseudonyms are
  never negative) and every table shows which rows could not be linked. The person still
  counts in lessons, groups and exposure to teachers. A row without a source identifier
  either is quarantined.
- ``Unlinkable.QUARANTINE``: the row gets no pseudonym; ingestion sets it aside, with its
  reason, for the data-quality report.

Kinds that are refused unless enabled: interim and help numbers (Swedish interim numbers,
Norwegian H- and FH-numbers), which an organisation issues locally, so one number can name
different people in different places. Coordination numbers (Swedish samordningsnummer,
Norwegian D-numbers) are national and are linked by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pseudonymise.national_ids._common import Country, IdKind, IdReason


class Unlinkable(StrEnum):
    """What happens to a person whose national ID cannot be linked."""

    LOCAL = "local"
    QUARANTINE = "quarantine"


class IdStatus(StrEnum):
    """How a person's row was pseudonymised."""

    LINKED = "linked"  # person domain: can link to registers
    LOCAL = "local"  # source-local pseudonym (negative): cannot link
    QUARANTINED = "quarantined"  # no pseudonym; set aside by ingestion


INTERIM_KINDS = frozenset({IdKind.INTERIM, IdKind.H_NUMBER, IdKind.FH_NUMBER})
COORDINATION_KINDS = frozenset({IdKind.SAMORDNINGSNUMMER, IdKind.D_NUMBER})


@dataclass(frozen=True)
class IdPolicy:
    """Which national IDs are linked, and what happens to the rest. See the module docstring."""

    country: Country = Country.SE
    on_unlinkable: Unlinkable = Unlinkable.LOCAL
    allow_interim: bool = False
    allow_coordination: bool = True

    def __post_init__(self) -> None:
        # Accept the plain strings a settings file holds; refuse anything else by name.
        object.__setattr__(self, "country", Country(self.country))
        object.__setattr__(self, "on_unlinkable", Unlinkable(self.on_unlinkable))

    def as_record(self) -> dict[str, str]:
        """The policy as a snapshot's manifest keeps it (every value a string)."""
        return {
            "country": str(self.country),
            "on_unlinkable": str(self.on_unlinkable),
            "allow_interim": str(self.allow_interim),
            "allow_coordination": str(self.allow_coordination),
        }

    @classmethod
    def from_record(cls, record: dict[str, str]) -> IdPolicy:
        """The policy a manifest recorded (``as_record``); a value it cannot read is refused."""

        def flag(name: str, default: bool) -> bool:
            value = record.get(name, str(default))
            if value not in ("True", "False"):
                raise ValueError(f"the recorded ID policy's {name} is {value!r}, not True/False")
            return value == "True"

        return cls(
            country=Country(record.get("country", "SE")),
            on_unlinkable=Unlinkable(record.get("on_unlinkable", "local")),
            allow_interim=flag("allow_interim", False),
            allow_coordination=flag("allow_coordination", True),
        )

    def describe(self) -> str:
        """One line for people: ``SE; unlinkable IDs: local; interim numbers: no;
        coordination numbers: yes``."""
        yes = {True: "yes", False: "no"}
        return (
            f"{self.country}; unlinkable IDs: {self.on_unlinkable}; interim numbers: "
            f"{yes[self.allow_interim]}; coordination numbers: "
            f"{yes[self.allow_coordination]}"
        )

    def refusal(self, kind: IdKind) -> IdReason | None:
        """Why a valid ID of ``kind`` is not linked under this policy, or None if it is."""
        if kind in INTERIM_KINDS and not self.allow_interim:
            return IdReason.INTERIM_NOT_ALLOWED
        if kind in COORDINATION_KINDS and not self.allow_coordination:
            return IdReason.COORDINATION_NOT_ALLOWED
        return None
