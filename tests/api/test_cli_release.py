"""``medler release`` and the office's console: a project registered and approved by two people,
a researcher with a token, releases for them, a held request reviewed by the DPO, the ledger
and the audit log. Refusals and bad specs are one-line errors with the exit code for a user's
mistake."""

from __future__ import annotations

import json
import re
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
MONTHS = {"table": "student_months", "group_by": ["month"],
          "measures": [{"kind": "count_students"}]}  # fmt: skip


@pytest.fixture
def office(
    research_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[list[str], str]:  # fmt: skip
    """A fresh control plane with an approved project (its id unique to the test, since the
    shared snapshot's release store outlives it), researcher ann in it, and DPO dora. Returns
    the common options and the project's id."""
    monkeypatch.setenv("MEDLER_CONTROL_URL", f"sqlite:///{tmp_path / 'control.db'}")
    monkeypatch.setenv("COLUMNS", "250")  # rich tables one line per row
    data = ["--data-dir", str(research_dir)]
    project = re.sub(r"[^a-z0-9-]", "-", tmp_path.name.lower())[-40:].strip("-")
    steps = [
        ["ledger", "set-cap", "dataset", "0.5"],
        ["project", "create", project, "--purpose", "Absence and certification",
         "--legal-basis", "Official statistics", "--organisation", "Uni", "--from",
         "2020-01-01", "--to", "2099-12-31", "--table", "student_terms", "--table",
         "exposure:school_code,certified_share", "--by", "registrar"],
        ["project", "approve", project, "--rho", "0.5", "--by", "approver"],
        ["researcher", "add", "ann", "--name", "Ann A", "--organisation", "Uni",
         "--project", project, "--rho", "0.5"],
        ["person", "add", "dora", "--role", "dpo", "--name", "Dora D", "--organisation",
         "Office"],
    ]  # fmt: skip
    for step in steps:
        assert run([*step, *data]) == 0, capsys.readouterr().err
    capsys.readouterr()
    return [*data, "--project", project, "--requester", "ann"], project


def test_an_sdc_release_prints_its_cells(
    office: tuple[list[str], str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(["release", json.dumps(BY_GRADE), *office[0]])
    out = capsys.readouterr().out
    assert code == 0
    assert "count_students" in out and "all" in out and "no privacy budget" in out
    assert "_pid" not in out


def test_a_dp_preview_spends_nothing(
    office: tuple[list[str], str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(DP), encoding="utf-8")
    code = run(["release", str(spec), "--preview", *office[0]])
    out = capsys.readouterr().out
    assert code == 0
    assert "would cost rho 0.1; nothing was spent" in out


def test_a_refusal_says_why(
    office: tuple[list[str], str], capsys: pytest.CaptureFixture[str]
) -> None:
    spec = {**BY_GRADE, "group_by": ["student_pid"]}
    code = run(["release", json.dumps(spec), *office[0]])
    assert code == 1  # refused: a user error, not a usage mistake
    assert "identifies a person" in capsys.readouterr().err


def test_a_bad_spec_names_the_field(research_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["release", '{"table": "exposure", "measures": [{"kind": "mean"}]}',
                "--data-dir", str(research_dir)])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the spec: measures.0: ") and "needs a column" in err


def test_the_ledger_charges_a_dp_release_and_the_audit_log_verifies(
    office: tuple[list[str], str], research_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    options, project = office
    data = ["--data-dir", str(research_dir)]
    assert run(["release", json.dumps(DP), *options]) == 0
    capsys.readouterr()
    assert run(["ledger", "show", *data]) == 0
    rows = {line.split("│")[1].strip(): line for line in capsys.readouterr().out.splitlines()
            if line.count("│") > 3}  # fmt: skip
    for scope in ("dataset", f"project:{project}", f"researcher:{project}:ann"):
        cells = [c.strip() for c in rows[scope].split("│")[1:-1]]
        assert cells[1:5] == ["0.5", "0.1", "0", "0.4"]  # cap, spent, reserved, remaining
    assert run(["audit", "verify", *data]) == 0
    # set-cap, created, approved, researcher added, member added, dpo added, released
    assert "7 records, unbroken" in capsys.readouterr().out


def test_a_release_needs_a_member_of_an_approved_project(
    office: tuple[list[str], str], research_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    options, project = office
    data = ["--data-dir", str(research_dir)]
    assert run(["release", json.dumps(BY_GRADE), *data, "--project", project,
                "--requester", "nobody"]) == 1  # fmt: skip
    assert "there is no person 'nobody'" in capsys.readouterr().err
    assert run(["release", json.dumps(BY_GRADE), *data, "--project", project,
                "--requester", "dora"]) == 1  # fmt: skip
    assert "a dpo may not submit a query" in capsys.readouterr().err
    assert run(["release", json.dumps(BY_GRADE), *data]) == 2
    assert "give --requester and --project" in capsys.readouterr().err
    assert run(["project", "close", project, *data]) == 0
    assert run(["release", json.dumps(BY_GRADE), *options]) == 1
    assert f"project {project} is closed, not approved" in capsys.readouterr().err


def test_the_registrar_cannot_approve_their_own_project(
    office: tuple[list[str], str], research_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ["--data-dir", str(research_dir)]
    assert run(["project", "create", "second", "--purpose", "p", "--legal-basis", "b",
                "--organisation", "o", "--from", "2020-01-01", "--to", "2020-12-31",
                "--table", "exposure", "--by", "reg", *data]) == 0  # fmt: skip
    assert run(["project", "approve", "second", "--rho", "1", "--by", "reg", *data]) == 1
    assert "someone else approves it" in capsys.readouterr().err
    assert run(["project", "create", "third", "--purpose", "p", "--legal-basis", "b",
                "--organisation", "o", "--from", "2020-01-01", "--to", "2020-12-31",
                "--table", "exposure:student_pid", *data]) == 2  # fmt: skip
    assert "exposure.student_pid identifies a person" in capsys.readouterr().err
    assert run(["project", "list", *data]) == 0
    listed = capsys.readouterr().out
    assert "second" in listed and "proposed" in listed and "ann" in listed


def test_a_held_request_is_reviewed_by_the_dpo(
    office: tuple[list[str], str], research_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """student_months is outside the project's approval: the request is held, not refused;
    the requester cannot review it, the DPO approves it with a reason and it is released."""
    options, _ = office
    data = ["--data-dir", str(research_dir)]
    assert run(["release", json.dumps(MONTHS), *options]) == 0
    out = capsys.readouterr().out
    assert "Request 1 is held" in out and "failed check approval" in out
    assert "count_students" not in out  # nothing released
    assert run(["review", "list", "--by", "dora", *data]) == 0
    assert "student_months" in capsys.readouterr().out
    assert run(["review", "approve", "1", "--reason", "fine", "--by", "ann", *data]) == 1
    assert "a researcher may not review a held request" in capsys.readouterr().err
    assert run(["review", "approve", "1", "--reason", "In the purpose", "--by", "dora",
                *data]) == 0  # fmt: skip
    assert re.search(r"request 1: released as r-", capsys.readouterr().out)
    assert run(["review", "reject", "1", "--reason", "late", "--by", "dora", *data]) == 1
    assert "request 1 is released, not held" in capsys.readouterr().err
    assert run(["audit", "verify", *data]) == 0


def test_tokens_are_shown_once_and_revoked(
    office: tuple[list[str], str], research_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ["--data-dir", str(research_dir)]
    assert run(["token", "issue", "ann", "--days", "30", *data]) == 0
    shown = capsys.readouterr()
    token = shown.out.strip()
    assert re.fullmatch(r"medler_[0-9a-f]{16}_[A-Za-z0-9_-]{40,}", token)
    assert "shown only now" in shown.err
    token_id = token.split("_")[1]
    assert run(["token", "issue", "dora", "--by", "ann", *data]) == 1
    assert "a researcher may not issue a token" in capsys.readouterr().err
    assert run(["token", "revoke", token_id, *data]) == 0
    assert run(["token", "revoke", "0000", *data]) == 1
    assert "there is no token '0000'" in capsys.readouterr().err
