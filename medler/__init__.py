"""medler's kernel: what every trust zone may share, and nothing that touches data.

Modules
- ``errors``: the exception hierarchy. ``MedlerUserError`` and its subclasses are shown to
  the user without a traceback, with the fix in the message; anything else is a bug.
- ``_version``: the software version recorded in manifests and releases.

This package imports none of ``pseudonymise``, ``linkage``, ``release`` or ``api``
(an import-linter contract checks it).
"""

from medler._version import __version__
from medler.errors import (
    InputFileError,
    MedlerInternalError,
    MedlerUserError,
    OutputLocationError,
    UsageError,
)

__all__ = [
    "InputFileError",
    "MedlerInternalError",
    "MedlerUserError",
    "OutputLocationError",
    "UsageError",
    "__version__",
]
