"""An insider with write access to the control database, as the attacks were tried: rewrite
records and recompute the chain, cut off the newest records, edit budgets, edit or delete
ledger rows, edit the release store, swap records, roll the whole database back. Each must be
caught by ``verify_audit`` on its own, without a head written down by hand, on SQLite and on
PostgreSQL. The insider has the database, not the audit key file nor the anchor file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from release.governance import (
    DATASET,
    AuditChainBroken,
    Governance,
    Ledger,
    Principal,
    append_audit,
    connect_control_plane,
    raise_cap,
    set_up_office,
    verify_audit,
)
from release.governance._access import Action
from release.governance._reconcile import result_digest
from tests.control_plane import control_url  # noqa: F401  (a fixture)


@dataclass
class Plane:
    engine: Engine
    store: list[dict[str, Any]]


def _release(engine: Engine, n: int, rho: float) -> dict[str, Any]:
    """A release as the engine records it: its audit record and its release-store record."""
    cells = [{"keys": [n], "values": {"count_students": 40 + n}, "status": "released"}]
    record = {
        "release_id": f"r-{n}",
        "status": "released",
        "project": "p",
        "rho": rho,
        "release": {"cells": cells},
    }
    body = {"release_id": f"r-{n}", "result": result_digest(record), "rho": rho}
    append_audit(engine, actor="alice", action="released", project="p", body=body)
    return record


@pytest.fixture
def plane(control_url: str) -> Iterator[Plane]:  # noqa: F811
    """A control plane with an office, a project, a researcher, three dp charges and four
    releases: about thirty authenticated records."""
    engine = connect_control_plane(control_url)
    gov = Governance(engine)
    office = set_up_office(gov, "office", "Statistics office")
    raise_cap(gov, office, DATASET.key, 10.0)
    import datetime as dt

    today = dt.date.today()
    gov.create_project(
        office.registrar,
        "p",
        purpose="Absence by school",
        legal_basis="Law",
        organisation="Uni",
        valid_from=today,
        valid_to=today,
        tables={"student_terms": ["*"]},
    )
    gov.approve_project(office.approver, "p", rho=5.0)
    gov.add_person(office.registrar, "alice", role="researcher", name="A", organisation="Uni")
    gov.add_member(office.registrar, "p", "alice", rho=2.0)
    ledger = Ledger(engine)
    store = []
    for n, rho in enumerate((0.1, 0.2, 0.3)):
        entry = ledger.reserve("p", "alice", rho, f"{n:064x}")
        ledger.mark_released(entry)
        store.append(_release(engine, n, rho))
    store.append(_release(engine, 3, 0.0))
    assert verify_audit(engine, store=store) > 25
    yield Plane(engine, store)
    engine.dispose()


def _sql(engine: Engine, statement: str, **params: object) -> None:
    with engine.begin() as connection:
        connection.execute(text(statement), params)


def _rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM audit ORDER BY seq")).mappings().all()
        return [dict(r) for r in rows]


def _caught(plane: Plane, match: str) -> None:
    with pytest.raises(AuditChainBroken, match=match):
        verify_audit(plane.engine, store=plane.store)


def _body(row: dict[str, Any]) -> dict[str, Any]:
    body = row["body"]
    return json.loads(body) if isinstance(body, str) else dict(body)


def _rechain(engine: Engine, rows: list[dict[str, Any]], seal: Any) -> None:
    """Write ``rows`` back with every hash recomputed by ``seal`` and the head moved: what an
    insider does to make an edit look unbroken."""
    prev = "0" * 64
    for row in rows:
        content = [
            row["seq"],
            row["at"],
            row["actor"],
            row["project"],
            row["action"],
            _body(row),
        ] + ([row["key_id"]] if row["key_id"] is not None else [])
        digest = seal(prev + json.dumps(content, sort_keys=True, separators=(",", ":")))
        _sql(
            engine,
            "UPDATE audit SET action = :a, body = :b, prev_hash = :p, hash = :h WHERE seq = :s",
            a=row["action"],
            b=json.dumps(_body(row)),
            p=prev,
            h=digest,
            s=row["seq"],
        )
        prev = digest
    _sql(
        engine, "UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1", s=rows[-1]["seq"], h=prev
    )


def _released_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r["action"] == "released"]


def test_a_release_rewritten_as_refused_with_the_chain_recomputed_is_caught(plane: Plane) -> None:
    """The insider turns releases into refusals and recomputes every hash after them, with a
    plain SHA-256 and with an HMAC under a key of their own: neither verifies."""
    rows = _rows(plane.engine)
    for row in _released_rows(rows)[-2:]:
        row["action"] = "refused"
    _rechain(plane.engine, rows, lambda m: hashlib.sha256(m.encode()).hexdigest())
    _caught(plane, r"was changed after it was written")
    own_key = os.urandom(32)
    _rechain(
        plane.engine, rows, lambda m: hmac.new(own_key, m.encode(), hashlib.sha256).hexdigest()
    )
    _caught(plane, r"was changed after it was written")


def test_records_stripped_of_their_key_id_and_rechained_as_legacy_are_caught(
    plane: Plane,
) -> None:
    """Passing the whole log off as written before keyed audit (plain hashes, no key id)
    verifies as a chain, but not against the anchors written outside the database."""
    rows = _rows(plane.engine)
    for row in rows:
        row["key_id"] = None
    _sql(plane.engine, "UPDATE audit SET key_id = NULL")
    _rechain(plane.engine, rows, lambda m: hashlib.sha256(m.encode()).hexdigest())
    _caught(plane, r"no longer matches the anchor written outside the database")


def test_cutting_off_the_newest_records_is_caught_by_the_anchor(plane: Plane) -> None:
    rows = _rows(plane.engine)
    keep = rows[-4]
    _sql(plane.engine, "DELETE FROM audit WHERE seq > :s", s=keep["seq"])
    _sql(
        plane.engine,
        "UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1",
        s=keep["seq"],
        h=keep["hash"],
    )
    _caught(plane, rf"audit record {keep['seq'] + 1} is missing: the anchor written outside")


def test_emptying_the_log_is_caught_by_the_anchor(plane: Plane) -> None:
    _sql(plane.engine, "DELETE FROM audit")
    _sql(plane.engine, "UPDATE audit_head SET seq = 0, hash = :h WHERE id = 1", h="0" * 64)
    _caught(plane, r"is missing: the anchor written outside the database names it")


def test_two_records_swapped_are_caught(plane: Plane) -> None:
    """Two releases' contents swapped, each keeping its place in the chain; then the two rows
    swapped whole (their numbers exchanged)."""
    first, second = _released_rows(_rows(plane.engine))[:2]
    for row, other in ((first, second), (second, first)):
        _sql(
            plane.engine,
            "UPDATE audit SET body = :b WHERE seq = :s",
            b=json.dumps(_body(other)),
            s=row["seq"],
        )
    _caught(plane, rf"audit record {first['seq']} was changed after it was written")
    for row in (first, second):  # back as they were, then the rows trade numbers
        _sql(
            plane.engine,
            "UPDATE audit SET body = :b WHERE seq = :s",
            b=json.dumps(_body(row)),
            s=row["seq"],
        )
    verify_audit(plane.engine, store=plane.store)
    _sql(plane.engine, "UPDATE audit SET seq = -1 WHERE seq = :s", s=first["seq"])
    _sql(plane.engine, "UPDATE audit SET seq = :a WHERE seq = :b", a=first["seq"], b=second["seq"])
    _sql(plane.engine, "UPDATE audit SET seq = :b WHERE seq = -1", b=second["seq"])
    _caught(plane, r"does not follow record|was changed after it was written")


@pytest.mark.parametrize(
    ("statement", "match"),
    [
        ("UPDATE budgets SET spent = 0", r"budget dataset: the table says ρ 0 spent, the audit"),
        (
            "UPDATE budgets SET cap = cap + 1.5 WHERE scope = 'project:p'",
            r"budget project:p: the table says cap ρ 6.5, the audit log 5",
        ),
        (
            "DELETE FROM budgets WHERE scope = 'researcher:p:alice'",
            r"budget researcher:p:alice is set in the audit log but missing from the budgets",
        ),
        (
            "INSERT INTO budgets (scope, cap, spent) VALUES ('project:q', 100, 0)",
            r"budget project:q \(cap ρ 100\) has no 'budget set' record",
        ),
        ("DELETE FROM ledger", r"ledger entry 1 \(audit record \d+\) is missing from the ledger"),
        (
            "UPDATE ledger SET rho = rho / 10 WHERE id = 2",
            r"ledger entry 2: the table says rho 0.02",
        ),
        (
            "UPDATE ledger SET state = 'reserved'",
            r"ledger entry 1: the table says state 'reserved'",
        ),
        (
            "INSERT INTO ledger (project, researcher, rho, state, spec_digest) VALUES "
            "('p', 'mallory', 0.5, 'released', 'x')",
            r"ledger entry 4 has no 'budget charged'",
        ),
    ],
)
def test_an_edited_budget_or_ledger_is_named(plane: Plane, statement: str, match: str) -> None:
    _sql(plane.engine, statement)
    _caught(plane, match)


def test_every_mismatch_is_named_at_once(plane: Plane) -> None:
    """The insider zeroes the budgets and deletes the ledger: every row is named."""
    _sql(plane.engine, "UPDATE budgets SET spent = 0")
    _sql(plane.engine, "DELETE FROM ledger")
    with pytest.raises(AuditChainBroken) as caught:
        verify_audit(plane.engine, store=plane.store)
    message = str(caught.value)
    for name in (
        "budget dataset",
        "budget project:p",
        "budget researcher:p:alice",
        "ledger entry 1",
        "ledger entry 2",
        "ledger entry 3",
    ):
        assert name in message


def test_an_edited_release_store_is_named(plane: Plane) -> None:
    changed = json.loads(json.dumps(plane.store))
    changed[1]["release"]["cells"][0]["values"]["count_students"] = 7
    with pytest.raises(AuditChainBroken, match=r"r-1: the released values in the release store"):
        verify_audit(plane.engine, store=changed)
    with pytest.raises(AuditChainBroken, match=r"r-2 is in the audit log but missing from the"):
        verify_audit(plane.engine, store=plane.store[:2] + plane.store[3:])
    forged = {**plane.store[0], "release_id": "r-forged"}
    with pytest.raises(AuditChainBroken, match=r"holds r-forged, which the audit log never"):
        verify_audit(plane.engine, store=[*plane.store, forged])
    cheaper = json.loads(json.dumps(plane.store))
    cheaper[2]["rho"] = 0.0
    with pytest.raises(AuditChainBroken, match=r"r-2: the release store says ρ 0.0, the audit"):
        verify_audit(plane.engine, store=cheaper)


def test_the_whole_database_rolled_back_is_caught(plane: Plane, tmp_path: Path) -> None:
    """A copy of the database taken earlier, put back: the anchors written since name records
    it does not hold. (SQLite: the copy is the file.)"""
    if plane.engine.dialect.name != "sqlite":
        pytest.skip(
            "a file copy rolls back a SQLite control plane; PostgreSQL is covered by "
            "the cut-tail test"
        )
    database = Path(str(plane.engine.url.database))
    files = [database.with_name(database.name + end) for end in ("", "-wal", "-shm")]
    plane.engine.dispose()  # the last connection's close checkpoints the write-ahead log
    saved = {f: f.read_bytes() for f in files if f.exists()}
    _release(plane.engine, 9, 0.0)
    plane.engine.dispose()
    for f in files:
        f.unlink(missing_ok=True)
    for f, content in saved.items():
        f.write_bytes(content)
    _caught(plane, r"is missing: the anchor written outside the database names it")


def test_without_the_key_file_nothing_verifies(
    plane: Plane, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path_factory.mktemp("no-key") / "audit-key.json"
    monkeypatch.setenv("MEDLER_AUDIT_KEY_FILE", str(elsewhere))
    with pytest.raises(Exception, match=r"the audit key file .* is missing"):
        verify_audit(plane.engine, store=plane.store)


def test_an_untouched_plane_verifies_with_its_store(plane: Plane) -> None:
    """The control: everything above fails only because of the tampering."""
    assert verify_audit(plane.engine, store=plane.store) == len(_rows(plane.engine))


def test_a_person_or_token_written_into_the_database_is_nobody(plane: Plane) -> None:
    """The owner makes a researcher a DPO, inserts a DPO of their own, and inserts a token
    row whose hash they computed for a secret they chose: none of them authenticates."""
    gov = Governance(plane.engine)
    token = gov.issue_token(gov.person("office-registrar"), "alice")
    assert gov.authenticate(token.token).role == "researcher"
    _sql(plane.engine, "UPDATE people SET role = 'dpo' WHERE id = 'alice'")
    with pytest.raises(Exception, match="the token is not valid"):
        gov.authenticate(token.token)
    with pytest.raises(Exception, match="is not a registered dpo"):
        gov.require(Principal("alice", "dpo"), Action.REVIEW)
    secret = "s" * 43
    for kid, digest in (
        (None, hashlib.sha256(secret.encode()).hexdigest()),
        ("ak-forged", hashlib.sha256(secret.encode()).hexdigest()),
    ):
        _sql(plane.engine, "DELETE FROM tokens WHERE id = 'feedfacefeedface'")
        _sql(
            plane.engine,
            "INSERT INTO tokens (id, person, secret_hash, created_at, expires_at, "
            "key_id) VALUES ('feedfacefeedface', 'office-dpo', :h, :c, :e, :k)",
            h=digest,
            c="2026-01-01 00:00:00",
            e="2099-01-01 00:00:00",
            k=kid,
        )
        with pytest.raises(Exception, match="the token is not valid"):
            gov.authenticate(f"medler_feedfacefeedface_{secret}")
    _sql(
        plane.engine,
        "INSERT INTO people (id, name, role, organisation, created_at) VALUES "
        "('mallory', 'M', 'dpo', 'X', '2026-01-01 00:00:00')",
    )
    with pytest.raises(Exception, match="there is no person 'mallory'"):
        gov.person("mallory")
