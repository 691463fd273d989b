"""Exceptions to exit codes, in one place.

Exit codes follow the BSD sysexits convention where one fits, so scripts can tell a mistake in
the call from a problem with the input or the environment.
"""

from __future__ import annotations

from medler.errors import (
    Incomplete,
    InputFileError,
    MedlerInternalError,
    MedlerUserError,
    OutputLocationError,
    UsageError,
)

EXIT_OK = 0
EXIT_USER_ERROR = 1  # a MedlerUserError without a more specific class
EXIT_USAGE = 2  # wrong arguments or options (also click's own usage errors)
EXIT_INCOMPLETE = 3  # part of the work was done and written; the rest is reported
EXIT_INPUT = 65  # EX_DATAERR: the input file is not what it should be
EXIT_OUTPUT = 73  # EX_CANTCREAT: an output location cannot be written
EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug in medler
EXIT_INTERRUPTED = 130  # stopped by Ctrl-C

# Most specific class first: the first match wins.
_EXIT_CODES: tuple[tuple[type[BaseException], int], ...] = (
    (UsageError, EXIT_USAGE),
    (Incomplete, EXIT_INCOMPLETE),
    (InputFileError, EXIT_INPUT),
    (OutputLocationError, EXIT_OUTPUT),
    (MedlerUserError, EXIT_USER_ERROR),
    (MedlerInternalError, EXIT_INTERNAL),
)


def exit_code_for(error: BaseException) -> int:
    """The exit code for an exception; anything unknown is a bug."""
    for error_type, code in _EXIT_CODES:
        if isinstance(error, error_type):
            return code
    return EXIT_INTERNAL
