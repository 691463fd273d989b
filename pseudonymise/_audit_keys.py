"""The audit key: what authenticates the audit log's records, kept where the control
database's owner cannot read it.

Whoever owns the control database can rewrite any row in it and could recompute a plain hash
chain, so each audit record carries an HMAC-SHA256 under this key. It is kept like the
pseudonymisation key: a file of mode 0600, never in the folder of the data it protects, never
printed. ``MEDLER_AUDIT_KEY_FILE`` names it (default ``~/.config/medler/audit-key.json``). The
file keeps every version: a rotation adds one, new records use it, and records name the
version that authenticated them, so older records still verify.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from medler.errors import MedlerUserError

KEY_ENV = "MEDLER_AUDIT_KEY_FILE"
KEY_KIND = "medler-audit-key"
OWNER_ONLY = 0o600
_lock = threading.Lock()


class AuditKeyError(MedlerUserError):
    """The audit key file is missing, unreadable, too open or in the wrong place."""


@dataclass(frozen=True)
class AuditKeys:
    """Every version of the audit key: ``current`` signs new records, all of them verify."""

    path: Path
    current: str
    keys: dict[str, bytes]

    def mac(self, key_id: str, message: str) -> str:
        key = self.keys.get(key_id)
        if key is None:
            raise AuditKeyError(f"the audit key file {self.path} has no key {key_id!r}")
        return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def audit_key_path() -> Path:
    configured = os.environ.get(KEY_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".config" / "medler" / "audit-key.json"


def check_key_place(path: Path, folder: Path | None, what: str, setting: str) -> None:
    """Refuse ``path`` inside ``folder`` (the control database's folder): whoever holds the
    database would hold it too."""
    if folder is None:
        return
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return
    raise AuditKeyError(
        f"the {what} {path} is in the folder of the control database ({folder}): whoever "
        f"holds the database would hold it too; move it elsewhere and set {setting}"
    )


def load_audit_keys(database_folder: Path | None, *, create: bool = False) -> AuditKeys:
    """The audit keys (created when ``create`` and there is no key file yet). The file's place
    (never in ``database_folder``) and permissions are checked on every load."""
    path = audit_key_path()
    check_key_place(path, database_folder, "audit key file", KEY_ENV)
    with _lock:
        if not path.exists():
            if not create:
                raise AuditKeyError(
                    f"the audit key file {path} is missing, so the audit log cannot be "
                    f"authenticated; restore it from its backup (or set {KEY_ENV})"
                )
            _write_keys(path, *_new_key(), previous={}, new_file=True)
        return _read_keys(path)


def rotate_audit_key(database_folder: Path | None) -> str:
    """Add a new key version; new records are authenticated with it. Returns its id."""
    keys = load_audit_keys(database_folder)
    key_id, key = _new_key()
    _write_keys(keys.path, key_id, key, previous=keys.keys, new_file=False)
    return key_id


def _new_key() -> tuple[str, bytes]:
    return f"ak-{secrets.token_hex(4)}", secrets.token_bytes(32)


def _write_keys(
    path: Path, current: str, key: bytes, *, previous: dict[str, bytes], new_file: bool
) -> None:
    body = {
        "kind": KEY_KIND,
        "current": current,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "keys": {**{k: v.hex() for k, v in previous.items()}, current: key.hex()},
    }
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = path if new_file else path.with_name(path.name + ".new")
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY)
    try:
        os.fchmod(descriptor, OWNER_ONLY)
        os.write(descriptor, json.dumps(body, indent=2).encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    if not new_file:
        os.replace(target, path)


_read_cache: dict[tuple[str, int, int, int], AuditKeys] = {}


def _read_keys(path: Path) -> AuditKeys:
    """The key file, read again only when it changed (every token check reads it)."""
    status = path.stat()
    if status.st_mode & 0o077:
        raise AuditKeyError(f"the audit key file {path} is readable by others; 'chmod 600 {path}'")
    stamp = (str(path.resolve()), status.st_mtime_ns, status.st_size, status.st_ino)
    cached = _read_cache.get(stamp)
    if cached is not None:
        return cached
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        if body.get("kind") != KEY_KIND:
            raise ValueError("not an audit key file")
        keys = {str(k): bytes.fromhex(v) for k, v in body["keys"].items()}
        current = str(body["current"])
        if current not in keys or any(len(k) != 32 for k in keys.values()):
            raise ValueError("its keys are not 256-bit")
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise AuditKeyError(f"the audit key file {path} cannot be read: {error}") from error
    _read_cache.clear()
    _read_cache[stamp] = AuditKeys(path, current, keys)
    return _read_cache[stamp]
