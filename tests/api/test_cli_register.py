"""``medler register``: the register shown from the control plane, published as JSON, and a
published copy (a file, or the service's address) checked against the audit chain: the copy
that was published verifies, later acts do not unsettle it, and an edited one is named."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.cli import run
from api.cli._errors import EXIT_INPUT, EXIT_USER_ERROR
from api.service import Settings, create_app
from release.governance import (
    Governance,
    audit_head,
    connect_control_plane,
    default_url,
    raise_cap,
    set_up_office,
)


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory whose control plane has two approved projects and one proposed."""
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.delenv("MEDLER_CONTROL_URL", raising=False)
    monkeypatch.setenv("MEDLER_DATA_DIR", str(folder))
    gov = Governance(connect_control_plane(default_url(folder)))
    office = set_up_office(gov, "office", "Office")
    raise_cap(gov, office, "dataset", 3.0)
    today = dt.datetime.now(dt.UTC).date()
    for project, title in (
        ("ready", "Ready and approved"),
        ("later", "Later"),
        ("waiting", "Not approved"),
    ):
        gov.create_project(
            office.registrar,
            project,
            purpose="Absence over the year",
            legal_basis="Official Statistics Act",
            organisation="Uni",
            valid_from=today,
            valid_to=today + dt.timedelta(days=90),
            tables={"student_terms": ["*"]},
            title=title,
        )
        if project != "waiting":
            gov.approve_project(office.approver, project, rho=0.5)
    return folder


def _feed(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert run(["register", "show", "--json"]) == 0
    body: dict[str, Any] = json.loads(capsys.readouterr().out)
    return body


def test_show_lists_approved_projects_and_the_anchor(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["register", "show"]) == 0
    out = capsys.readouterr().out
    assert "Ready and approved" in out and "Later" in out and "Not approved" not in out
    seq, digest = audit_head(connect_control_plane(default_url(data)))
    assert f"2 project(s), 0 release(s); anchor {seq}:{digest}" in out
    body = _feed(capsys)
    assert [p["id"] for p in body["projects"]] == ["later", "ready"]
    assert body["anchor"] == {"records": seq, "head": digest, "witness": f"{seq}:{digest}"}


def test_verify_a_published_copy_then_an_edited_one(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    published = tmp_path / "register.json"
    body = _feed(capsys)
    published.write_text(json.dumps(body), encoding="utf-8")
    assert run(["register", "verify", str(published)]) == 0, capsys.readouterr().err
    witness = body["anchor"]["witness"]
    assert (
        f"the register agrees with the audit chain up to record {witness} (2 project(s)); "
        "the chain verifies"
    ) in capsys.readouterr().out
    # acts after the anchor leave the published copy true up to it
    gov = Governance(connect_control_plane(default_url(data)))
    gov.close_project(set_up_office(gov, "office", "Office").registrar, "ready")
    assert run(["register", "verify", str(published)]) == 0, capsys.readouterr().err
    capsys.readouterr()
    # a copy edited to hide a project's purpose and its budget
    (ready,) = [p for p in body["projects"] if p["id"] == "ready"]
    ready["purpose"], ready["budget_rho"] = "Something else", 9.0
    published.write_text(json.dumps(body), encoding="utf-8")
    assert run(["register", "verify", str(published)]) == EXIT_USER_ERROR
    assert capsys.readouterr().err.strip() == (
        "error: the register does not agree with the audit chain: project ready: budget_rho "
        "is 9.0 in the register, 0.5 in the chain; project ready: purpose is 'Something else' "
        "in the register, 'Absence over the year' in the chain"
    )


def test_verify_reads_the_service_s_feed_and_refuses_what_is_not_a_register(
    data: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = TestClient(create_app(Settings(data_dir=data, mode="development")))

    def get(url: str, **_: Any) -> httpx.Response:
        return client.get(httpx.URL(url).path)

    monkeypatch.setattr(httpx, "get", get)
    assert run(["register", "verify", "http://register.example/v1/register"]) == 0, (
        capsys.readouterr().err
    )
    assert "the register agrees with the audit chain" in capsys.readouterr().out
    assert run(["register", "verify", "http://register.example/v1/nothing"]) == EXIT_USER_ERROR
    assert "the server answered 404, not the register" in capsys.readouterr().err
    other = tmp_path / "other.json"
    other.write_text('{"projects": []}', encoding="utf-8")
    assert run(["register", "verify", str(other)]) == EXIT_INPUT
    assert "this is not a medler register feed (format None, not 1)" in capsys.readouterr().err
    other.write_text("not json", encoding="utf-8")
    assert run(["register", "verify", str(other)]) == EXIT_INPUT
    assert "not JSON" in capsys.readouterr().err
    assert run(["register", "verify", str(tmp_path / "missing.json")]) == EXIT_INPUT
    assert "cannot read it" in capsys.readouterr().err
    client.close()
