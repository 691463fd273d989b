"""The anchors of the audit chain: its head, written after every record to a file that the
control database's owner does not control (another mount, another account's folder, a synced
append-only store). Verification checks the chain against every anchor without being told, so
a log cut back or rolled back to an older state, even by someone who has the audit key, is
caught up to the newest anchor.

``MEDLER_AUDIT_ANCHOR`` names this control plane's anchor file (default: a file named by the
database's address in ``audit-anchors/`` beside the audit key file). One JSON line per record:
``{"seq", "hash", "at"}``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from medler.errors import MedlerUserError
from pseudonymise import AuditKeys, audit_key_path, check_key_place, load_audit_keys

ANCHOR_ENV = "MEDLER_AUDIT_ANCHOR"
OWNER_ONLY = 0o600


def database_folder(engine: Engine) -> Path | None:
    """The folder of a SQLite control database (the data directory by default)."""
    if engine.dialect.name != "sqlite" or not engine.url.database:
        return None
    return Path(engine.url.database).resolve().parent


def keys_for(engine: Engine, *, create: bool = False) -> AuditKeys:
    """The audit keys of the control plane at ``engine``."""
    return load_audit_keys(database_folder(engine), create=create)


def anchor_path(engine: Engine) -> Path:
    configured = os.environ.get(ANCHOR_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    address = engine.url.render_as_string(hide_password=True)
    name = hashlib.sha256(address.encode()).hexdigest()[:16]
    return audit_key_path().parent / "audit-anchors" / f"{name}.log"


# --- anchors ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    seq: int
    hash: str
    at: str


def write_anchor(engine: Engine, seq: int, digest: str) -> None:
    """Append the head ``seq``/``digest`` to the anchor file (one line, one write, synced)."""
    path = anchor_path(engine)
    check_key_place(path, database_folder(engine), "audit anchor file", ANCHOR_ENV)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    line = json.dumps({"seq": seq, "hash": digest, "at": at}) + "\n"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, OWNER_ONLY)
    try:
        os.write(descriptor, line.encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def read_anchors(engine: Engine) -> list[Anchor]:
    """Every anchor written for this control plane, in file order ([] when there is none)."""
    path = anchor_path(engine)
    if not path.exists():
        return []
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            body = json.loads(line)
            out.append(Anchor(int(body["seq"]), str(body["hash"]), str(body.get("at", ""))))
        except (ValueError, KeyError, TypeError) as error:
            raise MedlerUserError(
                f"the audit anchor file {path}, line {number}, cannot be read: {error}"
            ) from error
    return out
