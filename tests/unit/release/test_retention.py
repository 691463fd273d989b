"""Retention: the plan lists what the policy expires (never the snapshot in use), deletion is a
two-person act, a deletion cut short by a crash (the process killed right after the rename) is
finished by the next run, the chain reconciles with values deleted, a closed project's tokens
end and its downloads become Gone, and a shredded key version is refused for good."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from medler.errors import MedlerUserError
from pseudonymise import create_key_file, load_key_file, shred_key_version, shredded_keys
from release import Gone, MemoryStore
from release._retention import apply, check_download, load_retention_policy, plan, propose
from release._store import FileStore
from release.governance import (
    Governance,
    NotAllowed,
    NotAuthenticated,
    connect_control_plane,
    default_url,
    set_up_office,
    verify_audit,
)

REPO = Path(__file__).resolve().parents[3]
OLD = "2020-01-01T00:00:00+00:00"


def _snapshot(root: Path, name: str, created: str, current: bool = False) -> Path:
    folder = root / "snapshots" / name
    folder.mkdir(parents=True)
    (folder / "t.parquet").write_bytes(b"x")
    body = {"snapshot_id": name, "created": created, "key": {"key_id": "mk-1", "version": 1}}
    (folder / "manifest.json").write_text(json.dumps(body), encoding="utf-8")
    if current:
        (root / "CURRENT").write_text(name + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def world(tmp_path: Path) -> tuple[Governance, Path]:
    data = tmp_path / "data"
    data.mkdir()
    gov = Governance(connect_control_plane(default_url(data)))
    _snapshot(data, "old", OLD)
    _snapshot(data, "new", OLD, current=True)  # in use: never expires
    _snapshot(data / "research", "r-old", OLD)
    _snapshot(data / "research", "r-new", dt.datetime.now(dt.UTC).isoformat(), current=True)
    return gov, data


def _confirmed(gov: Governance, data: Path) -> tuple[int, object]:
    office = set_up_office(gov, "t", "Office")
    items = plan(gov, MemoryStore(), data)
    number = propose(gov, office.registrar, items)
    with pytest.raises(NotAllowed, match="a second person confirms it"):
        gov.use_approval(office.registrar, number, "delete data")
    gov.decide(office.dpo, number, confirm=True)
    return number, office


def test_plan_lists_expired_items_with_their_age_and_rule(world: tuple[Governance, Path]) -> None:
    gov, data = world
    items = plan(gov, MemoryStore(), data)
    assert [(i.kind, i.name) for i in items] == [
        ("canonical snapshot", "old"),
        ("research snapshot", "r-old"),
    ]
    assert items[0].age_days > 365
    assert items[0].rule.startswith("canonical_snapshot_days = 400 (retention ")


def test_apply_deletes_under_a_confirmed_proposal_and_audits(
    world: tuple[Governance, Path],
) -> None:
    gov, data = world
    number, office = _confirmed(gov, data)
    done = apply(gov, office.registrar, number, MemoryStore(), data)  # type: ignore[attr-defined]
    assert [d.name for d in done.deleted] == ["old", "r-old"]
    assert not (data / "snapshots" / "old").exists()
    assert (data / "snapshots" / "new").exists() and (data / "research/snapshots/r-new").exists()
    assert not list(data.rglob(".trash-*"))
    assert plan(gov, MemoryStore(), data) == []
    with pytest.raises(MedlerUserError, match="was used already"):
        apply(gov, office.registrar, number, MemoryStore(), data)  # type: ignore[attr-defined]
    verify_audit(gov.engine)


def test_a_kill_after_the_rename_is_finished_by_the_next_run(
    world: tuple[Governance, Path], tmp_path: Path
) -> None:
    gov, data = world
    number, office = _confirmed(gov, data)
    script = (
        "import sys; from pathlib import Path\n"
        "from release._retention import apply\n"
        "from release import MemoryStore\n"
        "from release.governance import Governance, Principal, connect_control_plane, "
        "default_url\n"
        "data = Path(sys.argv[1])\n"
        "gov = Governance(connect_control_plane(default_url(data)))\n"
        "apply(gov, Principal(sys.argv[2], 'statistician'), int(sys.argv[3]), MemoryStore(), "
        "data)\n"
    )
    env = {**os.environ, "MEDLER_RETENTION_STOP_AFTER": "move", "PYTHONPATH": str(REPO)}
    actor = office.registrar.id  # type: ignore[attr-defined]
    run = subprocess.run(
        [sys.executable, "-c", script, str(data), actor, str(number)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 86, run.stderr
    # cut in the middle: the first item is moved to the trash, nothing half-named in place
    assert not (data / "snapshots" / "old").exists()
    assert [p.name for p in (data / "snapshots").glob(".trash-*")] == [".trash-1-old"]
    assert (data / "research/snapshots/r-old").exists()  # not reached
    done = apply(gov, office.registrar, number, MemoryStore(), data)  # type: ignore[attr-defined]
    assert [(d.name, d.resumed) for d in done.deleted] == [("old", True)]
    assert not list(data.rglob(".trash-*"))
    verify_audit(gov.engine)


def test_released_values_expire_after_close_and_downloads_are_gone(
    world: tuple[Governance, Path],
) -> None:
    gov, data = world
    office = set_up_office(gov, "t", "Office")
    today = dt.date.today()
    gov.create_project(
        office.registrar,
        "p1",
        title="Absence",
        purpose="p",
        legal_basis="l",
        organisation="Uni",
        valid_from=today,
        valid_to=today,
        tables={"student_terms": ["*"]},
    )
    gov.approve_project(office.approver, "p1", rho=1)
    gov.add_person(office.admin, "eva", role="researcher", name="Eva", organisation="Uni")
    gov.add_member(office.registrar, "p1", "eva", rho=0.5)
    token = gov.issue_token(office.registrar, "eva")
    store = FileStore(data / "release")
    record = {
        "project": "p1",
        "requester": "eva",
        "status": "released",
        "release_id": "r-1",
        "snapshot": "s",
        "digest": "d",
        "spec": {"table": "student_terms"},
        "mode": "sdc",
        "release": {"cells": []},
    }
    store.add(record)
    check_download(gov, record)  # open project: kept
    assert gov.close_project(office.registrar, "p1") == 1
    with pytest.raises(NotAuthenticated, match="revoked"):
        gov.authenticate(token.token)
    policy = load_retention_policy()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=policy.days("released tables") + 1)
    check_download(gov, record, now=dt.datetime.now(dt.UTC))  # within the period
    with pytest.raises(Gone, match=r"project p1 closed on .* kept 1825 days"):
        check_download(gov, record, now=later)
    items = plan(gov, store, data, now=later)
    assert ("released tables", "p1") in [(i.kind, i.name) for i in items]
    number = propose(gov, office.registrar, [i for i in items if i.kind == "released tables"])
    gov.decide(office.approver, number, confirm=True)
    apply(gov, office.registrar, number, store, data, now=later)
    (kept,) = store.all()
    assert "release" not in kept and kept["release_id"] == "r-1"
    with pytest.raises(Gone, match="its values were deleted"):
        check_download(gov, kept)


def test_a_shredded_key_version_is_refused_for_good(tmp_path: Path) -> None:
    data, key_path = tmp_path / "data", tmp_path / "keys" / "key.json"
    data.mkdir()
    old = create_key_file(key_path)
    backup = key_path.read_bytes()
    new = shred_key_version(key_path, old.key_id, old.version, data_dir=data)
    assert new is not None and new.version == 2 and new.key_id != old.key_id
    shred_key_version(key_path, old.key_id, old.version, data_dir=data)  # safe to repeat
    assert [k.key_id for k in shredded_keys(data)] == [old.key_id]
    key_path.write_bytes(backup)  # the old key restored from a backup
    with pytest.raises(MedlerUserError, match=r"was shredded on .*nothing may be pseudonymised"):
        load_key_file(key_path, data_dir=data)


def test_the_command_line_plans_proposes_and_applies(world: tuple[Governance, Path]) -> None:
    from api.cli import run

    gov, data = world
    office = set_up_office(gov, "t", "Office")
    tokens = {}
    for who in (office.registrar, office.dpo):
        path = data.parent / f"{who.id}.token"
        path.write_text(gov.issue_token(office.admin, who.id).token, encoding="utf-8")
        tokens[who.id] = str(path)
    base = ["--data-dir", str(data)]
    assert run(["retention", "plan", *base]) == 0
    assert run(["retention", "propose", *base, "--token-file", tokens["t-registrar"]]) == 0
    (waiting,) = gov.proposals(office.dpo)
    number = str(waiting.id)
    assert waiting.kind == "delete data"
    assert run(["proposal", "confirm", number, *base, "--token-file", tokens["t-dpo"]]) == 0
    assert (
        run(
            [
                "retention",
                "apply",
                "--approval",
                number,
                *base,
                "--token-file",
                tokens["t-registrar"],
            ]
        )
        == 0
    )
    assert not (data / "snapshots" / "old").exists()
    assert plan(gov, MemoryStore(), data) == []
