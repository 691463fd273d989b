"""National identity numbers: recognise, check and normalise them (zone 0).

Modules
- ``_common``: the result types (``NationalId``, ``IdKind``, ``IdReason``, ``Country``) and
  shared column helpers.
- ``_se``: Swedish personnummer, samordningsnummer, interim and organisation numbers.
- ``_no``: Norwegian fødselsnummer, D-, H-, FH- and Tenor numbers.
- ``_dk``: Danish CPR numbers.
- ``_policy``: ``IdPolicy`` (which kinds are linked; local pseudonym or quarantine for the
  rest), ``Unlinkable`` and ``IdStatus``.
- ``_normalise``: the entry points ``normalise_person_ids`` (a column) and
  ``normalise_person_id`` (one value), which apply an ``IdPolicy``.

The parsers are vectorised Polars expressions; the single-value entry point runs the same code
on a one-row column, so there is one implementation of every rule.
"""

from pseudonymise.national_ids._common import (
    KIND_DTYPE,
    NORMALISED_SCHEMA,
    REASON_DTYPE,
    Country,
    IdKind,
    IdReason,
    NationalId,
)
from pseudonymise.national_ids._normalise import normalise_person_id, normalise_person_ids
from pseudonymise.national_ids._policy import IdPolicy, IdStatus, Unlinkable

__all__ = [
    "KIND_DTYPE",
    "NORMALISED_SCHEMA",
    "REASON_DTYPE",
    "Country",
    "IdKind",
    "IdPolicy",
    "IdReason",
    "IdStatus",
    "NationalId",
    "Unlinkable",
    "normalise_person_id",
    "normalise_person_ids",
]
