"""What the release layer refuses, and why."""

from __future__ import annotations

from medler.errors import MedlerInternalError, MedlerUserError


class QueryRefused(MedlerUserError):
    """The query breaks the statistical-use rule or the catalogue. The message says why and
    what to do instead; it never quotes data."""


class PrivacyInvariantBroken(MedlerInternalError):
    """A privacy check failed inside the release path. This is a bug in medler: nothing was
    released."""


class RowAccessRefused(MedlerInternalError):
    """Rows were about to be collected outside the release path. This is a bug in medler."""
