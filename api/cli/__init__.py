"""The ``medler`` command line.

Modules
- ``_app``: the Typer application and its commands.
- ``_errors``: exceptions to exit codes, in one place.

``main`` runs the application: a user error prints one line (what was wrong, what to do) and
exits non-zero without a traceback; anything else is reported as a bug.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

import typer

# Typer 0.29 vendors click; its usage errors are only reachable here (pinned version).
from typer._click.exceptions import NoArgsIsHelpError
from typer._click.exceptions import UsageError as ClickUsageError

from api.cli._app import app
from api.cli._errors import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    exit_code_for,
)
from medler.errors import MedlerUserError

__all__ = ["app", "main", "run"]


def run(argv: list[str] | None = None) -> int:  # noqa: PLR0911 - one return per outcome
    """Run the CLI with ``argv`` (without the program name) and return the exit code."""
    command = typer.main.get_command(app)
    args = sys.argv[1:] if argv is None else argv
    try:
        result = command.main(args=args, prog_name="medler", standalone_mode=False)
    except NoArgsIsHelpError as shown:
        # A group called without a subcommand: show its help, as --help would.
        if shown.ctx is not None:
            print(shown.ctx.get_help())
        return 0
    except ClickUsageError as error:
        where = error.ctx.command_path if error.ctx else "medler"
        print(f"error: {error.format_message()} (see '{where} --help')", file=sys.stderr)
        return EXIT_USAGE
    except typer.Exit as done:
        return int(done.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except MedlerUserError as error:
        print(f"error: {error}", file=sys.stderr)
        return exit_code_for(error)
    except Exception as error:  # the one place where any exception becomes an exit code
        if os.environ.get("MEDLER_DEBUG") == "1":
            raise
        # The message of an unexpected exception may quote data, so only its type and
        # where it was raised are shown.
        frames = traceback.extract_tb(error.__traceback__)
        where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
        print(
            f"internal error: {type(error).__name__}{where}. This is a bug in medler, not a "
            "problem with your input; please report it with the command you ran "
            "(MEDLER_DEBUG=1 shows the traceback).",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    return int(result) if isinstance(result, int) else 0


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())
