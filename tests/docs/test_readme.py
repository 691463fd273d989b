"""README.md's code blocks, run as a newcomer would type them.

- ``bash scripts/demo.sh``: in a copy of the repository's files, with no ``.venv`` yet: it
  installs medler and runs the demo.
- ``bash scripts/test.sh`` is the test suite itself; it is marked to skip, and ``.ci/run`` runs it.
- The statistics office's path: in a fresh folder with ``.venv`` beside it, line for line.
- ``medler serve`` and ``medler serve --dummy``: each started as written, on a free port
  (``MEDLER_PORT``), asked for a page, and stopped.
- The Python client snippet: against the dummy service, with the address and the token it
  printed in the environment, as the README says.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.docs.test_docs import (
    REPO,
    VENV_BIN,
    Block,
    Office,
    assert_token_file,
    blocks,
    command_lines,
    explain,
)

README = REPO / "README.md"
TIMEOUT = 900  # seconds for one block; the demo's install is the long one


def readme_blocks() -> list[Block]:
    return blocks(README)


def block_with(language: str, text: str) -> Block:
    """The one README block of ``language`` that contains ``text``."""
    found = [b for b in readme_blocks() if b.language == language and text in b.text]
    assert len(found) == 1, f"README.md has {len(found)} {language} blocks with {text!r}"
    return found[0]


def reader_env(home: Path | None = None) -> dict[str, str]:
    """The environment of a reader: no medler variables; a home of their own if given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDLER_", "XDG_CONFIG_HOME"))}
    if home is not None:
        home.mkdir(exist_ok=True)
        env["HOME"] = str(home)
    return env


def bash(text: str, folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", text],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def test_every_readme_block_is_run_here_or_says_why_not() -> None:
    """A block added to the README without a test here fails this test."""
    kinds = [(b.language, b.skip is not None) for b in readme_blocks()]
    assert kinds == [
        ("bash", False),
        ("bash", True),
        ("bash", False),
        ("bash", False),
        ("python", False),
    ]
    skipped = [b for b in readme_blocks() if b.skip is not None]
    assert [b.text for b in skipped] == ["bash scripts/test.sh"]
    assert ".ci/run" in (skipped[0].skip or "")
    assert "bash scripts/test.sh" in (REPO / ".ci" / "run").read_text(encoding="utf-8")


# --- the first set-up command -----------------------------------------------------------------


def repository_files() -> list[str]:
    """The repository's files as a clone would have them: tracked, and new ones not ignored."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout: the files a clone would have are unknown")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    )
    return [name for name in listed.stdout.decode().split("\0") if name and (REPO / name).is_file()]


@pytest.mark.slow
def test_the_demo_command_installs_medler_and_runs_the_demo(tmp_path: Path) -> None:
    block = block_with("bash", "scripts/demo.sh")
    assert block.text == "bash scripts/demo.sh"
    python = os.environ.get("PYTHON", "python3.11")  # scripts/_venv.sh's own choice
    if shutil.which(python) is None:
        pytest.skip(f"{python} is not on the path: the README's set-up needs Python 3.11")
    copy = tmp_path / "medler"
    for name in repository_files():
        target = copy / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    assert not (copy / ".venv").exists()
    result = bash(block.text, copy, reader_env())  # pip keeps the reader's own cache
    assert result.returncode == 0, explain(result)
    out = result.stdout
    for step in range(1, 10):
        assert re.search(rf"^{step}\. ", out, re.MULTILINE), f"demo step {step} is missing"
    assert re.search(r"audit log verified: \d+ records, unbroken", out)
    assert (copy / ".venv" / "bin" / "medler").exists()
    assert (copy / "medler-data" / "CURRENT").exists()
    assert (copy / "medler-demo-source" / "demo-key.json").exists()
    assert not list((copy / "medler-data").rglob("*key*.json")), "a key inside the data"


# --- the statistics office's path -------------------------------------------------------------


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Office:
    """The README's office block, run once in a fresh folder with medler's ``.venv`` in it."""
    assert (VENV_BIN / "medler").exists(), f"run the tests with medler's .venv: {sys.executable}"
    folder = tmp_path_factory.mktemp("readme") / "office"
    folder.mkdir()
    (folder / ".venv").symlink_to(VENV_BIN.parent, target_is_directory=True)
    block = block_with("bash", "medler keys init")
    started = time.monotonic()
    result = bash(block.text, folder, reader_env(folder.parent / "home"))
    return Office(folder, result, time.monotonic() - started)


@pytest.mark.slow
def test_the_office_path_runs_line_for_line(office: Office) -> None:
    assert office.result.returncode == 0, explain(office.result)
    out = office.result.stdout
    assert "Created key mk-" in out
    assert "project absence-2027: approved, budget ρ 1" in out
    # a release id: its time, 8 hex digits of its digest and 6 random ones
    assert re.search(r"^Release r-\d{8}T\d{6}-[0-9a-f]{14}: sdc", out, re.MULTILINE), out
    assert "statistician bertil: proposal 1, waiting for a second person" in out
    assert "dataset: cap ρ 5: proposal 2, waiting for a second person" in out
    assert re.search(r"audit log verified: \d+ records, unbroken", out)
    for holder in ("rut", "anna", "bertil", "eva", "dora"):
        assert_token_file(office.folder / f"{holder}.token")
    key = office.folder.parent / "home" / ".config" / "medler" / "key.json"
    assert key.exists(), "medler keys init keeps the key in the home folder, outside the data"
    assert (office.folder / "medler-data" / "research" / "CURRENT").exists()


# --- the service and the client ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    url: str
    process: subprocess.Popen[str]
    log: Path

    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@contextmanager
def served(line: str, folder: Path, env: dict[str, str]) -> Iterator[Served]:
    """``line`` (a ``medler serve`` command) run with bash in ``folder`` on a free port, until
    it answers; stopped with SIGTERM afterwards."""
    port = free_port()
    log = folder.parent / f"serve-{port}.log"
    with log.open("w", encoding="utf-8") as sink:
        process = subprocess.Popen(
            ["bash", "-c", f"exec {line}"],
            cwd=folder,
            env=env | {"MEDLER_PORT": str(port)},
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
    server = Served(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + 300  # the dummy service builds its snapshot first
        while True:
            assert process.poll() is None, f"{line} stopped:\n{server.stderr()}"
            assert time.monotonic() < deadline, f"{line} did not answer:\n{server.stderr()}"
            try:
                httpx.get(f"{server.url}/v1/openapi.json", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def serve_lines() -> list[str]:
    """The README's ``medler serve`` lines, each without its comment."""
    block = block_with("bash", "medler serve")
    commands, unparsed = command_lines(block.text)
    assert unparsed == []
    assert [c[1:] for c in commands] == [["serve"], ["serve", "--dummy"]]
    return [line.split("#", 1)[0].strip() for line in block.text.splitlines() if line.strip()]


@pytest.mark.slow
def test_medler_serve_serves_the_office_s_data(office: Office) -> None:
    assert office.result.returncode == 0, explain(office.result)
    line = serve_lines()[0]
    with served(line, office.folder, reader_env(office.folder.parent / "home")) as server:
        spec = httpx.get(f"{server.url}/v1/openapi.json", timeout=10)
        assert spec.status_code == 200
        assert spec.headers["X-Medler-Data"] == "real"
        token = (office.folder / "eva.token").read_text(encoding="utf-8").strip()
        answer = httpx.get(
            f"{server.url}/v1/projects", timeout=10, headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 200, answer.text
        assert "absence-2027" in answer.text
        assert httpx.get(f"{server.url}/dpo/login", timeout=10).status_code == 200
    assert server.process.returncode == 0, server.stderr()


@pytest.mark.slow
def test_the_client_snippet_runs_against_the_dummy_service(tmp_path: Path) -> None:
    line = serve_lines()[1]
    folder = tmp_path / "researcher"
    folder.mkdir()
    (folder / ".venv").symlink_to(VENV_BIN.parent, target_is_directory=True)
    env = reader_env(tmp_path / "home")
    with served(line, folder, env) as server:
        printed = re.search(r"dummy researcher token: (\S+)", server.stderr())
        assert printed, server.stderr()
        snippet = block_with("python", "api.client").text
        result = subprocess.run(
            [str(VENV_BIN / "python"), "-c", snippet],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
            env=env | {"MEDLER_URL": server.url, "MEDLER_TOKEN": printed.group(1)},
        )
        assert server.process.poll() is None, server.stderr()
    assert result.returncode == 0, explain(result)
    out = result.stdout
    assert "certified_share" in out
    assert re.search(r"_lower|_upper", out), "the table has its intervals"
    assert "dummy" in result.stderr, "the client warns that the data are dummy data"
    assert server.process.returncode == 0, server.stderr()
    assert printed.group(1) not in out
