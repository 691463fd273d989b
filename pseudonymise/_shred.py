"""Crypto-shredding: a pseudonymisation key version destroyed for good, so that pseudonyms
under it can never be made again and every snapshot built with it can no longer be linked to
anything new.

The key file holds one key, the current version (rotation drops the previous one). Shredding
the current version replaces it at once with a new version (as a rotation does, atomically);
shredding an older version finds it already gone from the file. Either way the key's id and
version are recorded in ``DATA_DIR/shredded-keys.json`` (ids and versions only, never a key),
and a key file whose key is listed there is refused by every load that knows the data
directory (every ingestion does): a copy of the old key restored from a backup cannot be used
to link again.

Each step is safe to repeat: the rotation happens only while the key file still holds the
shredded key, and the record is written only when it is missing. A shredding cut short by a
crash is finished by running it again.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pseudonymise._errors import KeyFileError
from pseudonymise._keys import KeyFile, _sync_directory, load_key_file, rotate_key_file

SHREDDED = "shredded-keys.json"


@dataclass(frozen=True)
class ShreddedKey:
    key_id: str
    version: int
    at: str


def shredded_keys(data_dir: Path) -> list[ShreddedKey]:
    """The key versions shredded for the data in ``data_dir`` ([] when none was)."""
    path = data_dir / SHREDDED
    if not path.exists():
        return []
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        return [ShreddedKey(str(k["key_id"]), int(k["version"]), str(k["at"])) for k in body]
    except (ValueError, KeyError, TypeError) as error:
        raise KeyFileError(
            f"{path}: the record of shredded keys cannot be read ({error}); restore it from "
            "the data directory's backup"
        ) from None


def refuse_shredded(key: KeyFile, data_dir: Path) -> None:
    """Refuse ``key`` when it was shredded for the data in ``data_dir``."""
    for gone in shredded_keys(data_dir):
        if gone.key_id == key.key_id:
            raise KeyFileError(
                f"key file {key.path} holds key {gone.key_id} (version {gone.version}), which "
                f"was shredded on {gone.at[:10]}: nothing may be pseudonymised under it again. "
                "Use the current key (a copy of a shredded key restored from a backup is "
                "refused; destroy it)"
            )


def shred_key_version(
    path: Path | None,
    key_id: str,
    version: int,
    *,
    data_dir: Path,
    now: dt.datetime | None = None,
    after_rotation: Callable[[], object] | None = None,
) -> KeyFile | None:
    """Shred key ``key_id`` (version ``version``): if the key file holds it, replace it with a
    new version (returned); record it as shredded for ``data_dir``. Safe to repeat.
    ``after_rotation`` is called between the two steps (the crash tests stop there)."""
    current = load_key_file(path, data_dir=data_dir)
    replaced = None
    if current.key_id == key_id:
        replaced = rotate_key_file(path, now=now, data_dir=data_dir)
    if after_rotation is not None:
        after_rotation()
    _record(data_dir, key_id, version, now)
    return replaced


def _record(data_dir: Path, key_id: str, version: int, now: dt.datetime | None) -> None:
    listed = shredded_keys(data_dir)
    if any(k.key_id == key_id for k in listed):
        return
    at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).isoformat(timespec="seconds")
    body = [k.__dict__ for k in listed] + [{"key_id": key_id, "version": version, "at": at}]
    target = data_dir / SHREDDED
    temporary = target.with_name(f".{SHREDDED}.{secrets.token_hex(6)}.tmp")
    with temporary.open("w", encoding="utf-8") as f:
        f.write(json.dumps(body, indent=2) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, target)
    _sync_directory(data_dir)
