"""The command line: help everywhere, one clear line for user errors, bugs said to be bugs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.cli import _app, run
from api.cli._errors import EXIT_INTERNAL, EXIT_OUTPUT, EXIT_USAGE


def _commands() -> list[list[str]]:
    import typer

    command = typer.main.get_command(_app.app)
    found = [[]]
    for name, sub in command.commands.items():  # type: ignore[attr-defined]
        found.append([name])
        for subname in getattr(sub, "commands", {}):
            found.append([name, subname])
    return found


@pytest.mark.parametrize("path", _commands(), ids=lambda p: " ".join(p) or "medler")
def test_every_command_has_help(path: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run([*path, "--help"]) == 0
    assert "Usage: medler" in capsys.readouterr().out


def test_synth_writes_an_extract_and_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "extract"
    assert run(["synth", "--students", "80", "--weeks", "1", "--seed", "4", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "pupils" in printed and "80" in printed
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    assert truth["counts"]["pupils"] == 80
    assert (out / "registers" / "teacher_register.csv").is_file()
    assert not (tmp_path / ".extract.partial").exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "0",
            "error: --students must be between 50 and 1,000,000, not 0: a municipality "
            "needs at least one school of pupils",
        ),
        (
            "-5",
            "error: --students must be between 50 and 1,000,000, not -5: a municipality "
            "needs at least one school of pupils",
        ),
        (
            "many",
            "error: Invalid value for '--students': Input should be a valid integer, "
            "unable to parse string as an integer (see 'medler synth --help')",
        ),
    ],
)
def test_bad_students_is_one_clear_line(
    value: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["synth", "--students", value, "--out", str(tmp_path / "x")]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.strip() == message
    assert "Traceback" not in err


def test_unwritable_out_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    code = run(["synth", "--students", "60", "--weeks", "1", "--out", str(blocker / "sub")])
    assert code == EXIT_OUTPUT
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: cannot write to --out {blocker / 'sub'} (")
    assert err.endswith("); choose a folder you may write to")
    assert "\n" not in err


def test_out_that_is_a_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    assert run(["synth", "--students", "60", "--out", str(blocker)]) == EXIT_OUTPUT
    assert capsys.readouterr().err.strip() == (
        f"error: --out {blocker} is a file, not a folder; choose a folder"
    )


def test_existing_extract_needs_overwrite_and_other_folders_are_never_clobbered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "extract"
    args = ["synth", "--students", "60", "--weeks", "1", "--out", str(out)]
    assert run(args) == 0
    assert run(args) == EXIT_OUTPUT
    assert "pass --overwrite to replace it" in capsys.readouterr().err
    assert run([*args, "--overwrite"]) == 0
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.txt").write_text("keep me", encoding="utf-8")
    code = run(["synth", "--students", "60", "--out", str(precious), "--overwrite"])
    assert code == EXIT_OUTPUT
    assert (precious / "thesis.txt").read_text(encoding="utf-8") == "keep me"


def test_an_unexpected_error_is_reported_as_a_bug_without_its_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from api.cli import _synth

    def explode(**_: object) -> None:
        raise KeyError("199001011234")  # an internal message that might quote data

    monkeypatch.setattr(_synth, "run_synth", explode)
    monkeypatch.delenv("MEDLER_DEBUG", raising=False)
    assert run(["synth", "--out", str(tmp_path / "x")]) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert err.startswith("internal error: KeyError at test_cli_synth.py:")
    assert "This is a bug in medler" in err
    assert "199001011234" not in err


def test_demo_runs_on_defaults(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    args = ["demo", "--data-dir", str(data), "--students", "100", "--weeks", "2"]
    assert run(args) == 0
    out = capsys.readouterr().out
    steps = (
        "1. A synthetic municipality",
        "2. The pseudonymisation key",
        "3. Ingest the SS 12000 extract",
        "4. Add the teacher and student registers",
        "5. Build the research tables",
    )
    for step in steps:
        assert step in out
    source = tmp_path / "medler-demo-source"
    assert (source / "extract" / "truth.json").is_file()
    assert (source / "demo-key.json").is_file()
    # The raw extract and the key stay outside the data directory.
    assert {p.name for p in data.rglob("*.json")} == {"manifest.json"}
    assert not list(data.rglob("*.csv"))
    assert (data / "CURRENT").is_file()
    # A second run reuses the key and makes new snapshots.
    assert run(args) == 0
    assert "the demo key from an earlier run" in capsys.readouterr().out
