"""Known quirks of real exports, mapped only when the office names them (``--compat``).

A quirk is a way a vendor departs from the standard that medler can read without guessing. Each
is off by default: an extract that shows one is read by the standard, what cannot be read is
quarantined with a reason that names the switch, and the ingest warns. Naming the switch makes
the mapping a recorded decision (it is written in the snapshot's manifest).
"""

from __future__ import annotations

from collections.abc import Iterable

from medler.errors import UsageError

ACTIVITY_TEACHERS_AS_PERSON = "activity-teachers-as-person"

# name → what it maps (docs/how-to/ingest-an-extract.md lists the same).
QUIRKS: dict[str, str] = {
    ACTIVITY_TEACHERS_AS_PERSON: (
        'SS 12000: an activity\'s teachers given as {"person": {"id": …}} instead of '
        '{"duty": {"id": …}}; each is read as the person\'s duty at the activity\'s '
        "organisation, or their only duty"
    ),
}


def compat_switches(names: Iterable[str]) -> frozenset[str]:
    """The quirks named, checked: an unknown name is refused with the list of known ones."""
    chosen = frozenset(name.strip().lower() for name in names)
    unknown = sorted(chosen - set(QUIRKS))
    if unknown:
        raise UsageError(
            f"--compat {', '.join(unknown)} is not a known quirk; the known ones are: "
            f"{', '.join(sorted(QUIRKS))}"
        )
    return chosen
