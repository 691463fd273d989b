"""``medler keys shred``: the snapshots a key version made are named before anything is done;
shredding is proposed by one person and applied after a second confirms; the key the snapshot
in use was made with is refused unless the proposal says --force; every step is audited; and a
shredding killed in the middle (after the journal entry, after the key file's rotation) is
finished by the next run, without rotating the key twice."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from api.cli import run
from api.cli._errors import EXIT_USER_ERROR
from medler.errors import MedlerUserError
from pseudonymise import create_key_file, load_key_file, rotate_key_file, shredded_keys
from release.governance import (
    Governance,
    connect_control_plane,
    default_url,
    set_up_office,
    verify_audit,
)
from release.governance._models import AuditRecord

REPO = Path(__file__).resolve().parents[2]
OLD, NEW = "2025-01-01T00:00:00+00:00", "2026-06-01T00:00:00+00:00"


def _snapshot(
    root: Path,
    name: str,
    created: str,
    key: dict[str, object],
    *,
    research: bool = False,
    current: bool = False,
) -> None:
    folder = root / "snapshots" / name
    folder.mkdir(parents=True)
    body: dict[str, object] = {"snapshot_id": name, "created": created}
    body |= {"built_from": {"key": key}} if research else {"key": key}
    (folder / "manifest.json").write_text(json.dumps(body), encoding="utf-8")
    if current:
        (root / "CURRENT").write_text(name + "\n", encoding="utf-8")


class World:
    """A data directory with snapshots under two key versions: ``old`` (no longer in the key
    file) made ``c-old`` and ``r-old``; ``new`` (in the key file) made the ones in use."""

    def __init__(self, tmp_path: Path) -> None:
        self.data = tmp_path / "data"
        self.data.mkdir()
        self.key = tmp_path / "keys" / "key.json"
        old = create_key_file(self.key)
        self.backup = self.key.read_bytes()  # a copy of the old key, as a backup would hold
        new = rotate_key_file(self.key)
        self.old, self.new = old.key_id, new.key_id
        for name, created, key, current in (("old", OLD, old, False), ("new", NEW, new, True)):
            ref = {"key_id": key.key_id, "version": key.version}
            _snapshot(self.data, f"c-{name}", created, ref, current=current)
            _snapshot(
                self.data / "research", f"r-{name}", created, ref, research=True, current=current
            )
        self.gov = Governance(connect_control_plane(default_url(self.data)))
        self.office = set_up_office(self.gov, "t", "Office")
        self.tokens: dict[str, str] = {}
        for who in (self.office.registrar, self.office.approver, self.office.dpo):
            path = tmp_path / f"{who.id}.token"
            path.write_text(self.gov.issue_token(self.office.admin, who.id).token, "utf-8")
            self.tokens[who.id] = str(path)

    def args(self, who: str | None = None) -> list[str]:
        out = ["--data-dir", str(self.data), "--key-file", str(self.key)]
        return out + (["--token-file", self.tokens[who]] if who else [])

    def actions(self) -> list[tuple[str, dict[str, object]]]:
        from sqlalchemy.orm import Session

        with Session(self.gov.engine) as session:
            rows = session.query(AuditRecord).order_by(AuditRecord.seq).all()
            return [(r.action, dict(r.body)) for r in rows]


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.delenv("MEDLER_CONTROL_URL", raising=False)
    return World(tmp_path)


def _proposal(out: str) -> str:
    found = re.search(r"proposal (\d+), waiting for a second person", out)
    assert found is not None, out
    return found[1]


def test_plan_names_the_snapshots_and_changes_nothing(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    key_before = world.key.read_bytes()
    assert run(["keys", "shred", "plan", world.old, *world.args()]) == 0
    out = capsys.readouterr().out
    assert "c-old" in out and "r-old" in out and "c-new" not in out
    assert (
        f"shredding key {world.old} (version 1) makes these 2 snapshot(s) unlinkable for good"
    ) in " ".join(out.split())
    assert world.key.read_bytes() == key_before and shredded_keys(world.data) == []
    assert run(["keys", "shred", "plan", "mk-unknown", *world.args()]) != 0
    assert "no snapshot and not the key file know key mk-unknown" in capsys.readouterr().err


def test_two_people_shred_an_old_version_and_it_is_audited(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["keys", "shred", "propose", world.old, *world.args("t-registrar")]) == 0
    number = _proposal(capsys.readouterr().out)
    apply = ["keys", "shred", "apply", "--approval", number]
    assert run([*apply, *world.args("t-registrar")]) == EXIT_USER_ERROR
    assert "a second person confirms it" in capsys.readouterr().err
    assert (
        run(
            [
                "proposal",
                "confirm",
                number,
                *world.args("t-registrar")[:2],
                "--token-file",
                world.tokens["t-registrar"],
            ]
        )
        != 0
    )
    assert (
        run(
            [
                "proposal",
                "confirm",
                number,
                "--data-dir",
                str(world.data),
                "--token-file",
                world.tokens["t-dpo"],
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert run([*apply, *world.args("t-dpo")]) != 0  # the DPO confirms; the office acts
    assert "may not rotate a key" in capsys.readouterr().err
    key_before = world.key.read_bytes()
    assert run([*apply, *world.args("t-registrar")]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert (
        f"shredded: key {world.old} (version 1); unlinkable now: canonical snapshot c-old, "
        "research snapshot r-old"
    ) in out
    assert world.key.read_bytes() == key_before  # the key file held a newer version
    assert [k.key_id for k in shredded_keys(world.data)] == [world.old]
    started = [b for a, b in world.actions() if a == "deletion started"]
    assert started == [
        {
            "deletion": 1,
            "proposal": int(number),
            "kind": "key version",
            "name": world.old,
            "rule": f"crypto-shredding under proposal {number}",
            "version": 1,
            "snapshots": ["canonical snapshot c-old", "research snapshot r-old"],
        }
    ]
    assert [a for a, _ in world.actions()][-1] == "deleted"
    verify_audit(world.gov.engine)
    assert run([*apply, *world.args("t-registrar")]) != 0
    assert "was used already" in capsys.readouterr().err
    # a copy of the shredded key restored from a backup is refused
    restored = world.key.parent / "restored.json"
    restored.write_bytes(world.backup)
    restored.chmod(0o600)
    with pytest.raises(MedlerUserError, match="was shredded on"):
        load_key_file(restored, data_dir=world.data)


def test_the_key_of_the_snapshot_in_use_needs_force(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["keys", "shred", "propose", world.new, *world.args("t-registrar")]) != 0
    assert capsys.readouterr().err.strip() == (
        f"error: key {world.new} (version 2) made the snapshot in use (canonical snapshot "
        "c-new (in use), research snapshot r-new (in use)): shredded, no new delivery could be "
        "linked to it. Rotate the key ('medler keys rotate'), ingest and build under the new "
        "one first; or, to shred it anyway, propose with --force"
    )
    assert world.gov.proposals(world.office.dpo) == []


@pytest.mark.parametrize("stop", ["start", "rotate", "shred"])
def test_a_shredding_killed_in_the_middle_is_finished_by_the_next_run(
    world: World, capsys: pytest.CaptureFixture[str], stop: str
) -> None:
    assert run(["keys", "shred", "propose", world.new, "--force", *world.args("t-registrar")]) == 0
    number = _proposal(capsys.readouterr().out)
    assert (
        run(
            [
                "proposal",
                "confirm",
                number,
                "--data-dir",
                str(world.data),
                "--token-file",
                world.tokens["t-approver"],
            ]
        )
        == 0
    )
    apply = ["keys", "shred", "apply", "--approval", number, *world.args("t-registrar")]
    env = {**os.environ, "MEDLER_RETENTION_STOP_AFTER": stop, "PYTHONPATH": str(REPO)}
    env.pop("MEDLER_CONTROL_URL", None)
    killed = subprocess.run(
        [sys.executable, "-m", "api.cli", *apply],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert killed.returncode == 86, killed.stderr
    rotated = load_key_file(world.key, data_dir=world.data).key_id
    assert (rotated == world.new) == (stop == "start")  # the key is touched after the journal
    assert [k.key_id for k in shredded_keys(world.data)] == ([world.new] if stop == "shred" else [])
    assert [a for a, _ in world.actions()][-1] == "deletion started"
    capsys.readouterr()
    assert run(["retention", "plan", "--data-dir", str(world.data)]) == 0
    assert (
        f"unfinished: key version {world.new} (proposal {number}); 'medler keys shred "
        f"apply --approval {number}' finishes it"
    ) in capsys.readouterr().out
    assert run(apply) == 0, capsys.readouterr().err
    out = " ".join(capsys.readouterr().out.split())
    assert f"shredded: key {world.new} (version 2) (finished after an interrupted run)" in out
    assert out.count("shredded:") == 1
    after = load_key_file(world.key, data_dir=world.data)
    assert after.key_id != world.new and after.version == 3  # rotated once, never twice
    if stop != "start":
        assert after.key_id == rotated
    assert [k.key_id for k in shredded_keys(world.data)] == [world.new]
    assert [a for a, _ in world.actions()][-1] == "deleted"
    verify_audit(world.gov.engine)
    assert run(apply) != 0
    assert "was used already" in capsys.readouterr().err
