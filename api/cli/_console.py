"""Where the command line prints: standard output, as wide as the terminal, and wide enough
for its tables when the output goes to a file or a pipe (where Rich would assume 80 columns
and cut budget names and project ids short)."""

from __future__ import annotations

import os
import sys

from rich.console import Console

PIPE_WIDTH = 200


def stdout_console() -> Console:
    wide = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else PIPE_WIDTH
    return Console(file=sys.stdout, width=wide)
