"""One exception hierarchy for the whole service.

Rule: an exception a *user* can fix is a ``MedlerUserError``; its message names what was
wrong (file, record, field where there is one) and what to do. Such errors are printed as one
line, without a traceback. Every other exception is a bug in medler and is reported as such.

Messages never contain individual data: no national ID, no pseudonym, no row values, no key
material. Name the file, the record position and the field instead.

The CLI maps these classes to exit codes in one place (``api.cli._errors``).
"""

from __future__ import annotations


class MedlerUserError(Exception):
    """Something the user can fix. The message says what was wrong and what to do."""


class UsageError(MedlerUserError):
    """A command was called with values it cannot work with."""


class InputFileError(MedlerUserError):
    """An input file is missing, unreadable or not in the expected format."""


class OutputLocationError(MedlerUserError):
    """An output location cannot be created or written."""


class Incomplete(MedlerUserError):
    """A command did part of its work and wrote what it did; the rest (a table held for
    review, a refusal) is named in its output and in this message, never lost."""


class MedlerInternalError(Exception):
    """An internal inconsistency: this is a bug in medler, never the user's fault."""
