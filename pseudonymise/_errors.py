"""The errors pseudonymise raises. Each says what was wrong and how to fix it.

Rule: no message ever quotes a national ID, a pseudonym or key material. Messages name the
file, the domain, counts and reasons instead.
"""

from __future__ import annotations

from medler.errors import InputFileError, OutputLocationError, UsageError


class KeyFileError(InputFileError):
    """The key file is missing, empty, readable by others, not a medler key file, or inside
    the data directory."""


class KeyLocationError(OutputLocationError):
    """A key file cannot be created or replaced at the chosen path."""


class UnknownDomainError(UsageError):
    """A pseudonym domain name that is not one of the closed set in ``Domain``."""


class ScopeError(UsageError):
    """A scope was missing where a domain needs one, given where it must not be, or malformed."""


class UnlinkableIdError(InputFileError):
    """Values that are not linkable national IDs were passed where only such IDs are allowed."""


class CollisionError(InputFileError):
    """Two different inputs of one domain share a pseudonym; ingestion must stop.

    Merging the two would silently turn two people (or lessons, groups) into one. The fix is a
    new key (``medler keys rotate``) and a fresh ingestion: under another key the two inputs
    almost surely get different pseudonyms.
    """
