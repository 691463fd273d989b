"""The weekly path of docs/how-to/add-a-weekly-delivery.md on the command line: ``medler synth
--deliveries``, ``medler ingest … --delivery`` and ``medler build --incremental``, with what
they print, and a refused delivery as one line and exit 65."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.cli import run
from api.cli._errors import EXIT_INPUT
from pseudonymise import create_key_file


def test_a_week_delivered_and_built_incrementally(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "extract"
    assert (
        run(["synth", "--students", "100", "--weeks", "3", "--deliveries", "1", "--out", str(out)])
        == 0
    )
    key = tmp_path / "key.json"
    create_key_file(key)
    where = ["--key-file", str(key), "--data-dir", str(tmp_path / "data")]
    extract, week = str(out / "ss12000"), str(out / "deliveries" / "week-03")
    assert run(["ingest", extract, *where]) == 0
    assert run(["build", "--data-dir", str(tmp_path / "data")]) == 0
    capsys.readouterr()
    assert run(["ingest", extract, week, "--delivery", *where]) == 0
    printed = capsys.readouterr().out
    assert "Delivery week-03 added onto snapshot " in printed
    assert (
        "lessons from 2026-08-31 to 2026-09-04 (months 2026-08, 2026-09); tables changed: "
        "none; every other file shared" in " ".join(printed.split())
    )
    assert (
        "The extract's other resources were not read again: none of their files changed"
        in " ".join(printed.split())
    )
    assert run(["build", "--incremental", "--data-dir", str(tmp_path / "data")]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "Incremental: recomputed the months 2026-08, 2026-09 (terms 2026HT)" in printed
    # the same week again reaches into the weeks held: refused, in one line
    assert run(["ingest", extract, week, week, "--delivery", *where]) == EXIT_INPUT
    err = capsys.readouterr().err.strip()
    assert err == "error: week-03 is already in the current snapshot"
