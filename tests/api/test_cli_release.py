"""``medler release`` and the office's console: a project registered and approved by two people,
a researcher with a token, releases for them, a held request reviewed by the DPO, the ledger
and the audit log. Refusals and bad specs are one-line errors with the exit code for a user's
mistake."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from api.cli import run
from tests.research_data import research_dir

__all__ = ["research_dir"]

BY_GRADE = {
    "table": "student_terms",
    "group_by": ["grade"],
    "margins": True,
    "measures": [{"kind": "count_students"}],
}
DP = {
    "table": "exposure",
    "group_by": ["school_code"],
    "mode": "dp",
    "rho": 0.1,
    "measures": [{"kind": "count_students"}, {"kind": "mean", "column": "certified_share"}],
}
MONTHS = {
    "table": "student_months",
    "group_by": ["month"],
    "measures": [{"kind": "count_students"}],
}


def _as(tmp_path: Path, who: str) -> list[str]:
    """The option that makes a command act as ``who`` (their token, written by ``office``)."""
    return ["--token-file", str(tmp_path / f"{who}.token")]


def _confirmed(args: list[str], confirmer: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Run a command that makes a proposal, and have a second person confirm it."""
    capsys.readouterr()
    assert run(args) == 0, capsys.readouterr().err
    proposal = re.search(r"proposal (\d+)", capsys.readouterr().out)
    assert proposal is not None
    assert run(["proposal", "confirm", proposal[1], *confirmer]) == 0, capsys.readouterr().err


@pytest.fixture
def data_dir(research_dir: Path, tmp_path: Path) -> Path:
    """The session's research snapshot, copied without its release store: ``medler audit
    verify`` reconciles the store with this test's control plane, so the releases of other
    tests must not be in it."""
    copy = tmp_path / "data"
    shutil.copytree(
        research_dir, copy, ignore=lambda at, _: ["release"] if Path(at) == research_dir else []
    )
    return copy


@pytest.fixture
def office(
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[list[str], str]:
    """A fresh control plane with an approved project, researcher ann in it, and DPO dora; everyone
    registered by the first admin (root) or the office, with a token file each (``_as``).
    Returns the common options and the project's id."""
    monkeypatch.setenv("MEDLER_CONTROL_URL", f"sqlite:///{tmp_path / 'control.db'}")
    monkeypatch.setenv("COLUMNS", "250")  # rich tables one line per row
    monkeypatch.delenv("MEDLER_TOKEN", raising=False)
    monkeypatch.delenv("MEDLER_TOKEN_FILE", raising=False)
    data = ["--data-dir", str(data_dir)]
    project = re.sub(r"[^a-z0-9-]", "-", tmp_path.name.lower())[-40:].strip("-")

    def step(*args: str) -> None:
        assert run([*args, *data]) == 0, capsys.readouterr().err

    def token(who: str, by: str) -> None:
        step(
            "token", "issue", who, "--token-out", str(tmp_path / f"{who}.token"), *_as(tmp_path, by)
        )

    step(
        "admin",
        "init",
        "root",
        "--name",
        "Root",
        "--organisation",
        "Office",
        "--token-out",
        str(tmp_path / "root.token"),
    )
    step(
        "person",
        "add",
        "registrar",
        "--role",
        "statistician",
        "--name",
        "Reg",
        "--organisation",
        "Office",
        *_as(tmp_path, "root"),
    )
    token("registrar", by="root")
    _confirmed(
        [
            "person",
            "add",
            "approver",
            "--role",
            "statistician",
            "--name",
            "App",
            "--organisation",
            "Office",
            *_as(tmp_path, "root"),
            *data,
        ],
        [*_as(tmp_path, "registrar"), *data],
        capsys,
    )
    token("approver", by="root")
    step(
        "person",
        "add",
        "dora",
        "--role",
        "dpo",
        "--name",
        "Dora D",
        "--organisation",
        "Office",
        *_as(tmp_path, "root"),
    )
    token("dora", by="root")
    _confirmed(
        ["ledger", "set-cap", "dataset", "0.5", *_as(tmp_path, "registrar"), *data],
        [*_as(tmp_path, "approver"), *data],
        capsys,
    )
    step(
        "project",
        "create",
        project,
        "--purpose",
        "Absence and certification",
        "--legal-basis",
        "Official statistics",
        "--organisation",
        "Uni",
        "--from",
        "2020-01-01",
        "--to",
        "2099-12-31",
        "--table",
        "student_terms",
        "--table",
        "exposure:school_code,certified_share",
        *_as(tmp_path, "registrar"),
    )
    step("project", "approve", project, "--rho", "0.5", *_as(tmp_path, "approver"))
    step(
        "researcher",
        "add",
        "ann",
        "--name",
        "Ann A",
        "--organisation",
        "Uni",
        "--project",
        project,
        "--rho",
        "0.5",
        *_as(tmp_path, "registrar"),
    )
    token("ann", by="registrar")
    capsys.readouterr()
    return [*data, "--project", project, *_as(tmp_path, "ann")], project


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
    code = run(
        [
            "release",
            '{"table": "exposure", "measures": [{"kind": "mean"}]}',
            "--data-dir",
            str(research_dir),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the spec: measures.0: ") and "needs a column" in err


def test_the_ledger_charges_a_dp_release_and_the_audit_log_verifies(
    office: tuple[list[str], str], data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    options, project = office
    data = ["--data-dir", str(data_dir)]
    assert run(["release", json.dumps(DP), *options]) == 0
    capsys.readouterr()
    assert run(["ledger", "show", *data]) == 0
    rows = {
        line.split("│")[1].strip(): line
        for line in capsys.readouterr().out.splitlines()
        if line.count("│") > 3
    }
    for scope in ("dataset", f"project:{project}", f"researcher:{project}:ann"):
        cells = [c.strip() for c in rows[scope].split("│")[1:-1]]
        assert cells[1:5] == ["0.5", "0.1", "0", "0.4"]  # cap, spent, reserved, remaining
    assert run(["audit", "verify", *data]) == 0
    setup = [
        "root added",
        "root's token",
        "registrar added",
        "registrar's token",
        "approver proposed",
        "approver added",
        "proposal confirmed",
        "approver's token",
        "dora added",
        "dora's token",
        "dataset cap proposed",
        "dataset cap set",
        "proposal confirmed",
        "project created",
        "project cap set",
        "project approved",
        "ann added",
        "ann's cap set",
        "ann made a member",
        "ann's token",
    ]
    release = ["budget charged", "charge released", "released"]
    out = capsys.readouterr().out
    assert f"{len(setup) + len(release)} records, unbroken" in out
    assert "the budgets, the ledger and the release store agree with it" in out


def test_a_release_needs_a_member_of_an_approved_project(
    office: tuple[list[str], str],
    data_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    options, project = office
    data = ["--data-dir", str(data_dir)]
    (tmp_path / "nobody.token").write_text("medler_0123456789abcdef_" + "x" * 43)
    assert (
        run(
            ["release", json.dumps(BY_GRADE), *data, "--project", project, *_as(tmp_path, "nobody")]
        )
        == 1
    )
    assert "the token is not valid" in capsys.readouterr().err
    assert (
        run(["release", json.dumps(BY_GRADE), *data, "--project", project, *_as(tmp_path, "dora")])
        == 1
    )
    assert "a dpo may not submit a query" in capsys.readouterr().err
    assert run(["release", json.dumps(BY_GRADE), *data, *_as(tmp_path, "ann")]) == 2
    assert "give --project" in capsys.readouterr().err
    assert run(["release", json.dumps(BY_GRADE), *data, "--project", project]) == 2
    assert "acts as a registered person" in capsys.readouterr().err
    assert run(["project", "close", project, *data, *_as(tmp_path, "registrar")]) == 0
    # the close ended the token of ann, who belongs to no other open project
    assert run(["release", json.dumps(BY_GRADE), *options]) == 1
    assert "the token was revoked" in capsys.readouterr().err


def test_the_registrar_cannot_approve_their_own_project(
    office: tuple[list[str], str],
    data_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = ["--data-dir", str(data_dir)]
    registrar = _as(tmp_path, "registrar")
    assert (
        run(
            [
                "project",
                "create",
                "second",
                "--purpose",
                "p",
                "--legal-basis",
                "b",
                "--organisation",
                "o",
                "--from",
                "2020-01-01",
                "--to",
                "2020-12-31",
                "--table",
                "exposure",
                *registrar,
                *data,
            ]
        )
        == 0
    )
    assert run(["project", "approve", "second", "--rho", "1", *registrar, *data]) == 1
    assert "registrar registered project second; someone else approves it" in (
        capsys.readouterr().err
    )
    assert (
        run(
            [
                "project",
                "create",
                "third",
                "--purpose",
                "p",
                "--legal-basis",
                "b",
                "--organisation",
                "o",
                "--from",
                "2020-01-01",
                "--to",
                "2020-12-31",
                "--table",
                "exposure:student_pid",
                *registrar,
                *data,
            ]
        )
        == 2
    )
    assert "exposure.student_pid identifies a person" in capsys.readouterr().err
    assert run(["project", "list", *registrar, *data]) == 0
    listed = capsys.readouterr().out
    assert "second" in listed and "proposed" in listed and "ann" in listed


def test_a_held_request_is_reviewed_by_the_dpo(
    office: tuple[list[str], str],
    data_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """student_months is outside the project's approval: the request is held, not refused;
    the requester cannot review it, the DPO approves it with a reason and it is released."""
    options, _ = office
    data = ["--data-dir", str(data_dir)]
    assert run(["release", json.dumps(MONTHS), *options]) == 0
    out = capsys.readouterr().out
    assert "Request 1 is held" in out and "failed check approval" in out
    assert "count_students" not in out  # nothing released
    dora, ann = _as(tmp_path, "dora"), _as(tmp_path, "ann")
    assert run(["review", "list", *dora, *data]) == 0
    assert "student_months" in capsys.readouterr().out
    assert run(["review", "approve", "1", "--reason", "fine", *ann, *data]) == 1
    assert "a researcher may not review a held request" in capsys.readouterr().err
    assert run(["review", "approve", "1", "--reason", "In the purpose", *dora, *data]) == 0
    assert re.search(r"request 1: released as r-", capsys.readouterr().out)
    assert run(["review", "reject", "1", "--reason", "late", *dora, *data]) == 1
    assert "request 1 is released, not held" in capsys.readouterr().err
    assert run(["audit", "verify", *data]) == 0


def test_tokens_are_shown_once_and_revoked(
    office: tuple[list[str], str],
    data_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = ["--data-dir", str(data_dir)]
    registrar = _as(tmp_path, "registrar")
    assert run(["token", "issue", "ann", "--days", "30", *registrar, *data]) == 0
    shown = capsys.readouterr()
    token = shown.out.strip()
    assert re.fullmatch(r"medler_[0-9a-f]{16}_[A-Za-z0-9_-]{40,}", token)
    assert "shown only now" in shown.err
    token_id = token.split("_")[1]
    assert run(["token", "issue", "dora", *_as(tmp_path, "ann"), *data]) == 1
    assert "a researcher may not issue a token" in capsys.readouterr().err
    assert run(["token", "revoke", token_id, *registrar, *data]) == 0
    assert run(["token", "revoke", "0000", *registrar, *data]) == 1
    assert "there is no token '0000'" in capsys.readouterr().err
    assert run(["release", json.dumps(BY_GRADE), *office[0]]) == 0  # ann's other token aside
    capsys.readouterr()
    assert run(["token", "list", *registrar, *data]) == 1  # an admin's view only
    assert "a statistician may not list tokens" in capsys.readouterr().err
    assert run(["token", "list", "--person", "ann", *_as(tmp_path, "root"), *data]) == 0
    listed = capsys.readouterr().out
    assert token_id in listed and "revoked" in listed


def test_plan_prices_a_dp_question_by_the_researchers_token(
    office: tuple[list[str], str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The ρ a question costs, before anything is spent; nothing is charged."""
    question = {
        "table": "exposure",
        "group_by": ["school_code"],
        "mode": "dp",
        "rho": 0.1,
        "measures": [{"kind": "mean", "column": "certified_share"}],
    }
    assert (
        run(["plan", json.dumps(question), "--persons", "100", "--half-width", "0.1", *office[0]])
        == 0
    )
    out = capsys.readouterr().out
    assert "rho" in out and "such" in out and "questions" in out
    assert run(["ledger", "show", *office[0][:2]]) == 0
    assert "0.5" in capsys.readouterr().out  # the caps, nothing spent


def test_a_model_prints_one_row_per_parameter(
    office: tuple[list[str], str], capsys: pytest.CaptureFixture[str]
) -> None:
    spec = {
        "table": "student_terms",
        "filters": [{"column": "term", "op": "in", "values": ["2026HT"]}],
        "model": {
            "kind": "linear",
            "outcome": "absence_rate_reported",
            "predictors": ["grade"],
            "categorical": ["persistent_absence"],
        },
    }
    code = run(["release", json.dumps(spec), *office[0]])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "parameter" in out and "persistent_absence[true]" in out and "p_value" in out
    assert "linear regression of absence_rate_reported: n = " in out
    assert "_pid" not in out
