"""Write the command-line reference (docs/reference/cli.md) from the command line itself.

    python scripts/cli_reference.py > docs/reference/cli.md

It walks the Typer application's click command tree (``typer.main.get_command``) and writes,
for every command and command group, its usage, its help and every argument and option with
the help text ``--help`` shows. A test (``tests/docs/test_docs.py``) fails when the committed
page differs from what this script writes, so the page cannot drift from the code.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import typer
import typer.core
from typer import _click as click

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from api.cli._app import app  # noqa: E402  (after the path is set)

REFRESH = "python scripts/cli_reference.py > docs/reference/cli.md"

HEADER = f"""\
# Command-line reference

Every `medler` command, its arguments and its options, with the help that
`medler <command> --help` shows. This page is generated from the command line itself; do not
edit it by hand. This writes it again, and a test fails when it is out of date:

```bash
{REFRESH}
```

In a usage line, `[OPTIONS]` stands for the options listed below it, arguments are written in
capitals, `[ARGUMENT]` may be left out and `ARGUMENT...` may be given more than once. Every
command also takes `--help`. How the commands fit together: the
[statistics office's tutorial](../tutorials/statistics-office.md) and the
[data protection officer's](../tutorials/dpo.md); exit codes:
[architecture](../explanation/architecture.md#errors).
"""


@dataclass(frozen=True)
class Entry:
    """One command or command group, as the page shows it."""

    path: str
    help: str
    usage: str
    rows: list[tuple[str, str]]
    subcommands: list[tuple[str, str]]


def _text(text: str | None) -> str:
    """Help text on one line, without the two spaces click puts before ``[default: …]``."""
    return " ".join((text or "").split())


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _usage(command: click.Command, ctx: click.Context, path: str) -> str:
    pieces = [path, "[OPTIONS]"]
    for param in command.get_params(ctx):
        if isinstance(param, typer.core.TyperArgument):
            name = (param.name or "").upper()
            name = f"{name}..." if param.nargs == -1 else name
            pieces.append(name if param.required else f"[{name}]")
    if isinstance(command, typer.core.TyperGroup):
        pieces.append("COMMAND [ARGS]...")
    return " ".join(pieces)


def _rows(command: click.Command, ctx: click.Context) -> list[tuple[str, str]]:
    rows = []
    for param in command.get_params(ctx):
        if getattr(param, "hidden", False) or "--help" in param.opts:
            continue
        record = param.get_help_record(ctx)
        if record is None:
            continue
        name, meaning = record
        if isinstance(param, typer.core.TyperArgument):
            name = (param.name or "").upper() + ("..." if param.nargs == -1 else "")
        else:
            name = name.replace("<", "").replace(">", "").replace("list[str]", "str")
            name = re.sub(r" (\w+)$", lambda m: " " + m.group(1).upper(), name)
        rows.append((name, _text(meaning)))
    return rows


def entries() -> list[Entry]:
    """Every command and group of ``medler``, depth first, in the order ``--help`` lists them."""
    root = typer.main.get_command(app)
    found: list[Entry] = []

    def visit(command: click.Command, ctx: click.Context, path: str) -> None:
        subcommands: list[tuple[str, str]] = []
        children: list[tuple[click.Command, click.Context, str]] = []
        if isinstance(command, typer.core.TyperGroup):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                if sub is None or sub.hidden:
                    continue
                subcommands.append((f"{path} {name}", _text(sub.help)))
                children.append(
                    (sub, click.Context(sub, info_name=name, parent=ctx), f"{path} {name}")
                )
        found.append(
            Entry(
                path,
                _text(command.help),
                _usage(command, ctx, path),
                _rows(command, ctx),
                subcommands,
            )
        )
        for sub, sub_ctx, sub_path in children:
            visit(sub, sub_ctx, sub_path)

    visit(root, click.Context(root, info_name="medler"), "medler")
    return found


def _anchor(path: str) -> str:
    return path.replace(" ", "-")


def render() -> str:
    """The whole page."""
    found = entries()
    out = [HEADER]
    out.append("## Contents\n")
    for entry in found[1:]:
        depth = entry.path.count(" ") - 1
        out.append(f"{'  ' * depth}- [`{entry.path}`](#{_anchor(entry.path)})")
    out.append("")
    for entry in found:
        out.append(f"## `{entry.path}`\n")
        if entry.help:
            out.append(f"{entry.help}\n")
        out.append(f"```text\n{entry.usage}\n```\n")
        if entry.rows:
            out.append("| argument or option | meaning |")
            out.append("|---|---|")
            out.extend(f"| `{_cell(name)}` | {_cell(meaning)} |" for name, meaning in entry.rows)
            out.append("")
        if entry.subcommands:
            out.append("| command | what it does |")
            out.append("|---|---|")
            out.extend(
                f"| [`{path}`](#{_anchor(path)}) | {_cell(summary)} |"
                for path, summary in entry.subcommands
            )
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
