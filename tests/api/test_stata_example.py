"""The Stata path (clients/stata), tested as far as a machine without Stata allows: Stata is
proprietary and cannot be installed here, so the do-file itself is not run. What is checked
is everything it relies on: its spec is released by the dummy service, the download command
in its header fetches that release as CSV (run as written, with curl), and the CSV's columns
are exactly the variables the do-file confirms, each a valid Stata name (so that
``import delimited`` keeps it), with numbers where it expects numbers; every column name the
do-file uses is one of them."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import pytest

from api.client import Client
from tests.dummy_service import DummyService, dummy_service

__all__ = ["dummy_service"]

REPO = Path(__file__).resolve().parents[2]
STATA = REPO / "clients" / "stata"
DO_FILE = STATA / "example.do"
SPEC = STATA / "example-spec.json"
# a Stata variable name: a letter or _, then letters, digits or _, at most 32 in all
STATA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$")
# a word of the do-file that names a column: lower-case words joined by underscores
COLUMN_WORD = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def _code_lines() -> list[str]:
    """The do-file's commands, without comments or quoted text."""
    lines = DO_FILE.read_text(encoding="utf-8").splitlines()
    code = [line for line in lines if line.strip() and not line.lstrip().startswith("*")]
    return [re.sub(r'"[^"]*"', '""', line) for line in code]


def _confirmed(kind: str = "") -> list[str]:
    """The variables of the do-file's ``confirm [kind] variable`` line."""
    prefix = f"confirm {kind} variable " if kind else "confirm variable "
    (line,) = [line for line in _code_lines() if line.startswith(prefix)]
    return line.removeprefix(prefix).split()


def _download_command() -> str:
    """The curl command in the do-file's header, as a shell would read it."""
    lines = DO_FILE.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip("* ").startswith("curl "))
    command = []
    for line in lines[start:]:
        part = line.lstrip("*").strip()
        command.append(part.removesuffix("\\").strip())
        if not part.endswith("\\"):
            break
    return " ".join(command)


def test_the_do_file_confirms_the_columns_it_uses_and_they_are_stata_names() -> None:
    confirmed = _confirmed()
    assert all(STATA_NAME.match(name) for name in confirmed)
    assert set(_confirmed("string")) | set(_confirmed("numeric")) == set(confirmed)
    used = {word for line in _code_lines() for word in COLUMN_WORD.findall(line)}
    assert used <= set(confirmed), f"used but not confirmed: {sorted(used - set(confirmed))}"


def test_the_download_command_names_the_service_s_csv_route() -> None:
    command = _download_command()
    assert '-H "Authorization: Bearer $MEDLER_TOKEN"' in command
    match = re.search(r'"\$MEDLER_URL(/v1/releases/)<release_id>(/download)\?format=csv"', command)
    assert match is not None, command
    openapi = json.loads((REPO / "docs" / "reference" / "openapi.json").read_text())
    route = openapi["paths"][f"{match[1]}{{release_id}}{match[2]}"]["get"]
    (fmt,) = [p for p in route["parameters"] if p["name"] == "format"]
    assert "csv" in fmt["schema"]["enum"]


@pytest.mark.slow
def test_the_release_the_do_file_reads_has_exactly_its_columns(
    dummy_service: DummyService, tmp_path: Path
) -> None:
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the dummy data's warning
        with Client(dummy_service.url, dummy_service.researcher_token) as medler:
            result = medler.submit(spec)
            assert result.release_id is not None
            expected = medler.download(result.release_id, "csv")
    target = tmp_path / "release.csv"
    if shutil.which("curl") is not None and shutil.which("bash") is not None:
        command = _download_command().replace("<release_id>", result.release_id)
        env = {
            **os.environ,
            "MEDLER_URL": dummy_service.url,
            "MEDLER_TOKEN": dummy_service.researcher_token,
        }
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert target.read_bytes() == expected
    else:  # no curl: the same bytes, from the client
        target.write_bytes(expected)

    with target.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows, "the release has no cells"
    assert list(rows[0]) == _confirmed()
    for row in rows:
        assert row["status"] in ("released", "suppressed", "rounded")
        for name in _confirmed("numeric"):
            value = row[name]
            assert value == "" or float(value) == float(value), (name, value)
