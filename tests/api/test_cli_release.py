"""``medler release``: preview and release a spec from the command line; refusals and bad specs
are one-line errors with the exit code for a user's mistake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.cli import run
from tests.research_data import research_dir

__all__ = ["research_dir"]

BY_GRADE = {"table": "student_terms", "group_by": ["grade"], "margins": True,
            "measures": [{"kind": "count_students"}]}  # fmt: skip
DP = {"table": "exposure", "group_by": ["school_code"], "mode": "dp", "rho": 0.1,
      "measures": [{"kind": "count_students"},
                   {"kind": "mean", "column": "certified_share"}]}  # fmt: skip


def test_an_sdc_release_prints_its_cells(
    research_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(["release", json.dumps(BY_GRADE), "--data-dir", str(research_dir),
                "--project", "cli-sdc"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "count_students" in out and "all" in out and "no privacy budget" in out
    assert "_pid" not in out


def test_a_dp_preview_spends_nothing(
    research_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(DP), encoding="utf-8")
    code = run(["release", str(spec), "--preview", "--data-dir", str(research_dir),
                "--project", "cli-preview"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "would cost rho 0.1; nothing was spent" in out


def test_a_refusal_says_why(research_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = {**BY_GRADE, "group_by": ["student_pid"]}
    code = run(["release", json.dumps(spec), "--data-dir", str(research_dir),
                "--project", "cli-refused"])  # fmt: skip
    assert code == 1  # refused: a user error, not a usage mistake
    assert "identifies a person" in capsys.readouterr().err


def test_a_bad_spec_names_the_field(research_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["release", '{"table": "exposure", "measures": [{"kind": "mean"}]}',
                "--data-dir", str(research_dir)])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the spec: measures.0: ") and "needs a column" in err


def test_the_ledger_charges_a_dp_release_and_the_audit_log_verifies(
    research_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    control = tmp_path / "control"
    control.mkdir()
    monkeypatch.setenv("MEDLER_CONTROL_URL", f"sqlite:///{control / 'control.db'}")
    monkeypatch.setenv("COLUMNS", "200")  # the ledger's table on one line per budget
    data = ["--data-dir", str(research_dir)]
    code = run(["release", json.dumps(DP), *data, "--project", "cli-dp", "--requester", "ann"])
    assert code == 1
    assert "no budget is set for dataset" in capsys.readouterr().err
    for scope in ("dataset", "project:cli-dp", "researcher:cli-dp:ann"):
        assert run(["ledger", "set-cap", scope, "0.5", *data]) == 0
    assert run(["release", json.dumps(DP), *data, "--project", "cli-dp", "--requester", "ann"]) == 0
    capsys.readouterr()
    assert run(["ledger", "show", *data]) == 0
    shown = capsys.readouterr().out
    assert "project:cli-dp" in shown and "0.4" in shown  # 0.5 - 0.1 remaining
    assert run(["audit", "verify", *data]) == 0
    assert "2 records, unbroken" in capsys.readouterr().out
