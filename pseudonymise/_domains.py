"""Pseudonym domains: a closed set, so that a typo cannot open a new domain silently.

The same input gives unrelated pseudonyms in different domains (domain separation): the domain
name is part of every HMAC message. A domain has one of three kinds:

- **person**: national IDs (``student``, ``teacher``). The input is the canonical form of a
  valid national ID and the scope is its country, set by pseudonymise itself. These
  pseudonyms are the only ones that can link to registers. They are never negative.
- **local person**: people whose national ID is missing or unusable (``student-local``,
  ``teacher-local``). The input is the source system's own person identifier, scoped by the
  source. These pseudonyms are always **negative**, so a register join on ``student_pid`` can
  never match one, and anyone can see which rows could not be linked.
- **object**: everything else a school system identifies (``group``, ``activity``,
  ``lesson``, ``duty``, ``school-local-id``). Never negative. A scope (the source) is optional
  for identifiers that are unique everywhere (UUIDs) and required for ``school-local-id``.
- **source reference** (``source-reference``): the keys of the reference map a canonical
  snapshot keeps so that a weekly delivery can resolve its references without reading the
  other resources again (``linkage._canonical.REFERENCES``). The input is a source id exactly
  as written (not normalised: a reference must match its record's id as the source wrote it),
  scoped by the source and the kind of object. Only ``Pseudonymiser.reference_keys`` hashes
  in it; these keys are never pseudonyms of a table's subjects and never leave the snapshot.
"""

from __future__ import annotations

import re
from enum import StrEnum

from pseudonymise._errors import UnknownDomainError


class Domain(StrEnum):
    """Where a pseudonym lives. Its value is the name used in the HMAC message."""

    STUDENT = "student"
    TEACHER = "teacher"
    STUDENT_LOCAL = "student-local"
    TEACHER_LOCAL = "teacher-local"
    GROUP = "group"
    ACTIVITY = "activity"
    LESSON = "lesson"
    DUTY = "duty"
    SCHOOL_LOCAL_ID = "school-local-id"
    SOURCE_REFERENCE = "source-reference"

    @property
    def is_person(self) -> bool:
        """A national-ID domain: inputs are validated national IDs."""
        return self in _PERSON

    @property
    def is_local_person(self) -> bool:
        """A source-local person domain: negative pseudonyms that cannot link to registers."""
        return self in _LOCAL_PERSON

    @property
    def requires_scope(self) -> bool:
        """Inputs are unique only inside one source, so the source must be named."""
        return self in _LOCAL_PERSON or self in (Domain.SCHOOL_LOCAL_ID, Domain.SOURCE_REFERENCE)

    @property
    def local(self) -> Domain:
        """The source-local domain for the people of a person domain."""
        if self is Domain.STUDENT:
            return Domain.STUDENT_LOCAL
        if self is Domain.TEACHER:
            return Domain.TEACHER_LOCAL
        raise UnknownDomainError(
            f"domain '{self.value}' has no local domain; only person domains do"
        )

    @property
    def column(self) -> str:
        """The conventional name of a column holding this domain's pseudonyms."""
        base = self.value.removesuffix("-local").replace("-", "_")
        return f"{base}_pid"

    @classmethod
    def parse(cls, name: Domain | str) -> Domain:
        """``name`` as a ``Domain``; an unknown name is refused with the list of known ones."""
        if isinstance(name, Domain):
            return name
        try:
            return cls(name)
        except ValueError:
            known = ", ".join(d.value for d in cls)
            # Quote the name only when it looks like one: a value passed here by mistake
            # (an ID in the wrong argument) must not end up in a message.
            shown = f"'{name}'" if _NAME_LIKE.fullmatch(str(name)) else "(not a domain name)"
            raise UnknownDomainError(
                f"unknown pseudonym domain {shown}; use one of: {known}"
            ) from None


_NAME_LIKE = re.compile(r"[a-z][a-z_-]{0,30}")
_PERSON = frozenset({Domain.STUDENT, Domain.TEACHER})
_LOCAL_PERSON = frozenset({Domain.STUDENT_LOCAL, Domain.TEACHER_LOCAL})
