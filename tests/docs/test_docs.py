"""Documentation that cannot drift from the code.

- Every relative link in README.md and docs/**/*.md points to a file that exists, and to a
  heading that exists where it names one (GitHub's anchors).
- docs/reference/cli.md and docs/reference/http-api.md are exactly what their scripts write.
- Every ``medler …`` command line in a ```bash block names a real command and only options that
  command has.
- The statistics office's and the data protection officer's tutorials run, block by block, in
  a fresh folder, as a reader would type them; README.md's blocks run in tests/docs/test_readme.py.
- Every command shown anywhere in the docs is one of those that run.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from urllib.parse import unquote

import pytest
import typer
import typer.core
from typer import _click as click

from api.cli._app import app
from release import load_indicators

REPO = Path(__file__).resolve().parents[2]
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
TUTORIALS = REPO / "docs" / "tutorials"
VENV_BIN = Path(sys.executable).parent
SKIP_MARKER = re.compile(r"^<!--\s*test:\s*skip\b(?P<why>.*?)-->\s*$")
TUTORIAL_TIMEOUT = 600  # seconds; the office's tutorial takes about a minute


# --- reading Markdown -------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """A fenced code block: its language, text, first line (1-based) and skip marker."""

    language: str
    text: str
    line: int
    skip: str | None  # the reason given in a ``<!-- test: skip … -->`` marker right before it


FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([\w+-]*)")


def scan(path: Path) -> Iterator[tuple[int, str, str | None]]:
    """Every line with its number and what it is: ``None`` outside fenced code blocks,
    ``"open"`` or ``"close"`` for a fence, ``"code"`` inside a block."""
    fence: str | None = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        stripped = line.strip()
        if fence is None:
            opening = FENCE.match(line)
            if opening:
                fence = opening.group(1)
                yield number, line, "open"
            else:
                yield number, line, None
        elif stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
            fence = None
            yield number, line, "close"
        else:
            yield number, line, "code"


def blocks(path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown file, in order."""
    found = []
    language, start, skip, previous = "", 0, None, ""
    body: list[str] = []
    for number, line, kind in scan(path):
        if kind == "open":
            opening = FENCE.match(line)
            assert opening is not None
            language, start, body = opening.group(2).lower(), number, []
            marker = SKIP_MARKER.match(previous)
            skip = marker.group("why").strip(" :—-") if marker else None
        elif kind == "code":
            body.append(line)
        elif kind == "close":
            found.append(Block(language, "\n".join(body), start, skip))
        if line.strip():
            previous = line.strip()
    return found


def outside_code(path: Path) -> Iterator[tuple[int, str]]:
    """The lines outside fenced code blocks, with their numbers."""
    for number, line, kind in scan(path):
        if kind is None:
            yield number, line


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text without markup, lower case, punctuation
    removed, spaces as hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links: their text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").strip().lower()
    kept = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LNM")
    return kept.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor of a Markdown file: its headings' slugs (repeats numbered, as GitHub does)
    and explicit ``<a id=…>`` or ``<a name=…>``."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for _, line in outside_code(path):
        heading = re.match(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            base = slug(heading.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
        found.update(re.findall(r"<a\s+(?:name|id)=\"([^\"]+)\"", line))
    return found


LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")


def links(path: Path) -> Iterator[tuple[int, str]]:
    """Every link target outside code (fenced blocks and inline code)."""
    for number, line in outside_code(path):
        text = re.sub(r"(`+)(?:(?!\1).)+?\1", "", line)
        for match in LINK.finditer(text):
            yield number, match.group(1)
        reference = REFERENCE.match(text)
        if reference:
            yield number, reference.group(1)


# --- (a) links --------------------------------------------------------------------------------


def shown(path: Path) -> str:
    """A path as messages show it: from the repository's root, where it is inside it."""
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else path.name


def broken_links(documents: list[Path]) -> list[str]:
    broken = []
    for document in documents:
        for number, target in links(document):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # http:, mailto:, …
                continue
            path_part, _, anchor = target.partition("#")
            where = f"{shown(document)}:{number}: {target}"
            resolved = (document.parent / unquote(path_part)).resolve() if path_part else document
            if not resolved.exists():
                broken.append(f"{where}: no such file")
            elif anchor and resolved.suffix == ".md" and unquote(anchor) not in anchors(resolved):
                broken.append(f"{where}: no heading with this anchor")
    return broken


def test_every_relative_link_points_to_a_file_and_heading_that_exist() -> None:
    assert len(DOCUMENTS) > 20
    assert broken_links(DOCUMENTS) == []


def test_the_link_check_finds_a_missing_file_and_a_missing_heading(tmp_path: Path) -> None:
    (tmp_path / "b.md").write_text("# The b page\n\n## Part two\n", encoding="utf-8")
    page = tmp_path / "a.md"
    page.write_text(
        "# A\n\n[ok](b.md) [ok](b.md#part-two) [ok](#a) [web](https://example.org/x.md)\n"
        "[gone](c.md) and [wrong](b.md#part-three), but not `[code](c.md)`:\n\n"
        "```\n[in a block](d.md)\n```\n",
        encoding="utf-8",
    )
    assert broken_links([page]) == [
        "a.md:4: c.md: no such file",
        "a.md:4: b.md#part-three: no heading with this anchor",
    ]


def test_blocks_and_their_skip_markers_are_read(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "Text.\n\n<!-- test: skip: it starts a server -->\n```bash\nmedler serve\n```\n"
        "```bash\nmedler build\n```\n\n````text\n```\nstill text\n````\n"
        "<!-- test: skip -->\n\n~~~bash\nmedler demo\n~~~\n",
        encoding="utf-8",
    )
    assert blocks(page) == [
        Block("bash", "medler serve", 4, "it starts a server"),
        Block("bash", "medler build", 7, None),
        Block("text", "```\nstill text", 11, None),
        Block("bash", "medler demo", 17, ""),
    ]
    with pytest.raises(AssertionError, match="must say why"):
        runnable(page)


def test_the_anchor_rule_is_github_s() -> None:
    assert slug("Review: held requests") == "review-held-requests"
    assert slug("`exposure`: the teachers a pupil met, per pupil × term × subject") == (
        "exposure-the-teachers-a-pupil-met-per-pupil--term--subject"
    )
    assert slug("What ρ means (and ε)") == "what-ρ-means-and-ε"
    assert slug("[The query spec](../reference/query-spec.md) in 5 minutes") == (
        "the-query-spec-in-5-minutes"
    )


# --- (b) generated references -----------------------------------------------------------------


def load_script(name: str) -> ModuleType:
    path = REPO / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"medler_docs_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("script", "page"), [("cli_reference", "cli.md"), ("api_reference", "http-api.md")]
)
def test_the_generated_reference_is_up_to_date(script: str, page: str) -> None:
    module = load_script(script)
    committed = (REPO / "docs" / "reference" / page).read_text(encoding="utf-8")
    assert module.render() == committed, (
        f"docs/reference/{page} is out of date: run `{module.REFRESH}`"
    )


def test_the_cli_reference_lists_every_command() -> None:
    page = (REPO / "docs" / "reference" / "cli.md").read_text(encoding="utf-8")
    for path in command_paths():
        assert f"## `{path}`" in page, path


# --- (c) command lines in the docs ------------------------------------------------------------


@functools.cache
def root_command() -> click.Command:
    """``medler``'s click command tree (built once: building it takes a while)."""
    return typer.main.get_command(app)


def command_paths() -> list[str]:
    root = root_command()
    out: list[str] = []

    def visit(command: click.Command, ctx: click.Context, path: str) -> None:
        out.append(path)
        if isinstance(command, typer.core.TyperGroup):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None
                visit(sub, click.Context(sub, info_name=name, parent=ctx), f"{path} {name}")

    visit(root, click.Context(root, info_name="medler"), "medler")
    return out


SEPARATORS = set(";&|()")  # tokens made of these end a command


def command_lines(text: str) -> tuple[list[list[str]], list[str]]:
    """The ``medler`` commands of a bash block, as argument lists (program name first), and
    the logical lines that could not be parsed."""
    commands: list[list[str]] = []
    unparsed: list[str] = []
    buffer = ""
    for line in text.splitlines():
        buffer += line + "\n"
        if buffer.rstrip().endswith("\\"):  # a line continuation
            buffer = buffer.rstrip()[:-1] + " "
            continue
        lexer = shlex.shlex(buffer, posix=True, punctuation_chars=";&|()")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        try:
            tokens = list(lexer)
        except ValueError:  # a quote still open: the command goes on on the next line
            continue
        buffer = ""
        segment: list[str] = []
        for token in [*tokens, ";"]:
            if set(token) <= SEPARATORS:
                while segment and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", segment[0]):
                    segment.pop(0)  # VAR=value before a command
                if segment and (segment[0] == "medler" or segment[0].endswith("/medler")):
                    commands.append(["medler", *segment[1:]])
                segment = []
            else:
                segment.append(token)
    if buffer.strip():
        unparsed.append(buffer.strip())
    return commands, unparsed


def check_command(argv: list[str]) -> str | None:
    """What is wrong with ``argv`` (a ``medler`` command line), or None."""
    command = root_command()
    ctx = click.Context(command, info_name="medler")
    rest = argv[1:]
    while isinstance(command, typer.core.TyperGroup) and rest and not rest[0].startswith("-"):
        sub = command.get_command(ctx, rest[0])
        if sub is None:
            return f"'{ctx.command_path} {rest[0]}' is not a command"
        command, ctx = sub, click.Context(sub, info_name=rest[0], parent=ctx)
        rest = rest[1:]
    known = {o for p in command.get_params(ctx) for o in (*p.opts, *p.secondary_opts)}
    for token in rest:
        if token.startswith("--") and len(token) > 2:
            option = token.split("=", 1)[0]
            if option not in known:
                return f"'{ctx.command_path}' has no option {option}"
    return None


def documented_commands() -> Iterator[tuple[str, Block, list[str]]]:
    """Every ``medler`` command of a bash block: where it is (``doc:line``), its block, argv."""
    for document in DOCUMENTS:
        for block in blocks(document):
            if block.language not in ("bash", "sh", "shell"):
                continue
            commands, _ = command_lines(block.text)
            for argv in commands:
                yield f"{shown(document)}:{block.line}", block, argv


def test_every_documented_command_line_is_a_real_command_with_real_options() -> None:
    seen = list(documented_commands())
    assert len(seen) > 40
    problems = [
        f"{where}: {problem}: {shlex.join(argv)}"
        for where, _, argv in seen
        if (problem := check_command(argv)) is not None
    ]
    assert problems == []


def test_every_documented_bash_block_can_be_parsed() -> None:
    unparsed = [
        f"{shown(document)}:{block.line}: {line}"
        for document in DOCUMENTS
        for block in blocks(document)
        if block.language in ("bash", "sh", "shell")
        for line in command_lines(block.text)[1]
    ]
    assert unparsed == []


def test_the_command_line_check_catches_what_it_should() -> None:
    commands, unparsed = command_lines(
        "medler keys init   # once\n"
        ".venv/bin/medler project create p --token-file a \\\n  --purpose 'x' ; medler audit head\n"
        "W=$(medler audit head) && MEDLER_DATA_DIR=d medler build --memory-limit=2GB\n"
        'medler release \'{"table":\n  "exposure"}\' --project P\n'
        "echo medler --no-such-option | medler ledger show\n"
    )
    assert unparsed == []
    assert commands == [
        ["medler", "keys", "init"],
        ["medler", "project", "create", "p", "--token-file", "a", "--purpose", "x"],
        ["medler", "audit", "head"],
        ["medler", "audit", "head"],
        ["medler", "build", "--memory-limit=2GB"],
        ["medler", "release", '{"table":\n  "exposure"}', "--project", "P"],
        ["medler", "ledger", "show"],
    ]
    assert [check_command(c) for c in commands] == [None] * len(commands)
    assert check_command(["medler", "audit", "show"]) == "'medler audit show' is not a command"
    assert (
        check_command(["medler", "build", "--dry-run"]) == "'medler build' has no option --dry-run"
    )
    assert check_command(["medler", "review", "list", "--token-file", "d.token", "--help"]) is None
    assert (  # acting on a name alone is gone: a doc that still shows it is caught
        check_command(["medler", "review", "list", "--by", "dora"])
        == "'medler review list' has no option --by"
    )
    assert command_lines("medler release '{\n")[1] == ["medler release '{"]


# Documents whose bash blocks are run, as written, by a test: here and in test_readme.py
RUN_AS_WRITTEN = ("README.md", "docs/tutorials/statistics-office.md", "docs/tutorials/dpo.md")


def command_path(argv: list[str]) -> str:
    """The command that ``argv`` names, without its arguments: ``medler review approve``."""
    command = root_command()
    ctx = click.Context(command, info_name="medler")
    path, rest = ["medler"], argv[1:]
    while isinstance(command, typer.core.TyperGroup) and rest and not rest[0].startswith("-"):
        sub = command.get_command(ctx, rest[0])
        if sub is None:
            break
        path.append(rest[0])
        command, ctx = sub, click.Context(sub, info_name=rest[0], parent=ctx)
        rest = rest[1:]
    return " ".join(path)


def test_every_documented_command_is_run_by_a_test() -> None:
    """A command shown in a how-to or an explanation is also in a block that runs as written
    (README.md or a tutorial), so every command the docs show is exercised."""
    run, shown_where = set(), {}
    for where, block, argv in documented_commands():
        path = command_path(argv)
        shown_where.setdefault(path, where)
        if where.rsplit(":", 1)[0] in RUN_AS_WRITTEN and block.skip is None:
            run.add(path)
    assert len(run) > 15
    assert {p: w for p, w in shown_where.items() if p not in run} == {}


# --- (d) the tutorials run --------------------------------------------------------------------


def runnable(path: Path) -> str:
    """The tutorial's bash blocks, in order, as one script (blocks marked to skip left out,
    each such marker with its reason)."""
    parts = []
    for block in blocks(path):
        if block.language != "bash":
            continue
        if block.skip is not None:
            assert block.skip, f"{path.name}:{block.line}: a skipped block must say why"
            continue
        parts.append(f"echo '### {path.name}:{block.line}' >&2\n{block.text}\n")
    assert parts, f"{path.name} has no bash block to run"
    return "\n".join(parts)


def run_tutorial(path: Path, folder: Path) -> subprocess.CompletedProcess[str]:
    """Run the tutorial's blocks with bash in ``folder``, as a reader with medler on the path
    would: a fresh environment without medler's variables, and a home of its own."""
    assert (VENV_BIN / "medler").exists(), (
        f"run the tests with the Python of medler's .venv, not {sys.executable}"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDLER_")}
    home = folder.parent / f"{folder.name}-home"
    home.mkdir(exist_ok=True)
    env |= {"PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}", "HOME": str(home)}
    script = folder.parent / f"{path.stem}.sh"
    script.write_text(runnable(path), encoding="utf-8")
    return subprocess.run(
        ["bash", "-euo", "pipefail", str(script)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=TUTORIAL_TIMEOUT,
        check=False,
    )


def explain(result: subprocess.CompletedProcess[str]) -> str:
    return (
        f"exit {result.returncode}\n--- stdout\n{result.stdout[-3000:]}\n--- stderr\n"
        + (result.stderr[-3000:])
    )


def assert_token_file(path: Path) -> None:
    """A token issued into a file: medler's form, and readable by its owner only."""
    token = path.read_text(encoding="utf-8").strip()
    assert re.fullmatch(r"medler_[0-9a-f]{16}_\S+", token)
    assert path.stat().st_mode & 0o077 == 0


@dataclass(frozen=True)
class Office:
    folder: Path
    result: subprocess.CompletedProcess[str]
    seconds: float


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Office:
    """The statistics office's tutorial, run once in a fresh folder."""
    folder = tmp_path_factory.mktemp("office") / "practice"
    folder.mkdir()
    started = time.monotonic()
    result = run_tutorial(TUTORIALS / "statistics-office.md", folder)
    return Office(folder, result, time.monotonic() - started)


@pytest.mark.slow
def test_the_statistics_office_tutorial_runs(office: Office) -> None:
    assert office.result.returncode == 0, explain(office.result)
    out = office.result.stdout
    assert "Created key mk-" in out
    assert "project absence-2027: approved, budget ρ 1" in out
    # the office's people and tokens (8), the data set's cap (3), the project (3), eva (4)
    assert "audit log verified: 18 records, unbroken" in out
    assert "3 people kept with a source-local pseudonym" in out
    assert "ID policy: SE; unlinkable IDs: local;" in out
    assert re.search(r"absence-2027\s*│\s*approved\s*│", out)
    assert_token_file(office.folder / "eva.token")
    # the official tables, published twice: the second time, every table is the earlier release
    assert out.count("Published 10 of 10 official tables to official") == 2
    assert len(re.findall(r"│ released │ r-\S+ \(earlier\)", out)) == 10
    official = office.folder / "official"
    assert {p.name for p in official.glob("*.csv")} == {
        f"{i.name}.csv" for i in load_indicators().indicators
    }
    assert "Disclosure control: a cell of fewer than 10 pupils is suppressed" in (
        official / "report.md"
    ).read_text(encoding="utf-8")
    assert (office.folder / "keys" / "medler-key.json").exists()
    assert not (office.folder.parent / f"{office.folder.name}-home" / ".config").exists()
    # an old key version retired: shredded once nothing in use was made with it
    assert re.search(
        r"shredded: key mk-\S+ \(version 1\); unlinkable now: canonical "
        r"snapshot \S+, canonical snapshot \S+, canonical snapshot \S+, "
        r"research snapshot \S+",
        out,
    )
    # the register: both projects, each official table released once, and it agrees with the
    # chain
    tables = len(load_indicators().indicators)
    assert f"2 project(s), {tables} release(s); anchor " in out
    assert "the register agrees with the audit chain up to record " in out


@pytest.mark.slow
def test_the_dpo_tutorial_runs(office: Office, tmp_path: Path) -> None:
    """Its command-line blocks, in the folder the statistics office's tutorial left."""
    assert office.result.returncode == 0, explain(office.result)
    folder = tmp_path / "practice"
    shutil.copytree(office.folder, folder)
    result = run_tutorial(TUTORIALS / "dpo.md", folder)
    assert result.returncode == 0, explain(result)
    out = result.stdout
    for number in (1, 2, 3, 4):
        assert f"Request {number} is held" in out.replace("\n", " ")
    assert "request 3: released as r-" in out
    assert "request 4: rejected" in out
    assert re.search(r"audit log verified: \d+ records, unbroken", out)
    assert "the register agrees with the audit chain up to record " in out
    witness = (folder / "witness.txt").read_text(encoding="utf-8").strip()
    assert re.fullmatch(r"\d+:[0-9a-f]{64}", witness)
    skipped = [b for b in blocks(TUTORIALS / "dpo.md") if b.skip is not None]
    assert [b.text for b in skipped] == ["medler serve --insecure-cookies"]
