"""Key files: created owner-only, loaded with checks, rotated atomically."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import stat
from pathlib import Path

import pytest

from pseudonymise import (
    ENV_KEY_FILE,
    KeyFileError,
    KeyLocationError,
    create_key_file,
    default_key_path,
    load_key_file,
    rotate_key_file,
)
from pseudonymise._keys import key_id_for

NOW = dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.UTC)
RESTORE = (
    "restore it from your backup, or create a new key with 'medler keys init' (a new key "
    "means re-ingesting every source)"
)


def test_create_writes_an_owner_only_json_key(tmp_path: Path) -> None:
    path = tmp_path / "config" / "medler" / "key.json"
    key = create_key_file(path, now=NOW)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    document = json.loads(path.read_text())
    assert document["format"] == "medler-key"
    assert document["format_version"] == 1
    assert document["algorithm"] == "HMAC-SHA256"
    assert document["version"] == 1
    assert document["created"] == "2026-01-05T09:30:00Z"
    assert document["previous_key_id"] is None
    secret = base64.b64decode(document["key"])
    assert len(secret) == 32 == len(key.secret)
    assert document["key_id"] == key.key_id == key_id_for(secret)
    assert key.key_id.startswith("mk-") and len(key.key_id) == 19
    assert load_key_file(path) == key


def test_every_key_is_new(tmp_path: Path) -> None:
    first = create_key_file(tmp_path / "a.json")
    second = create_key_file(tmp_path / "b.json")
    assert first.secret != second.secret and first.key_id != second.key_id


def test_create_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    path.write_text("")
    with pytest.raises(KeyLocationError) as refused:
        create_key_file(path)
    assert str(refused.value) == (
        f"key file {path} already exists; a key is never overwritten: use 'medler keys "
        "rotate' to replace it with a new version, or choose another path with --key-file"
    )


def test_create_refuses_the_data_directory(tmp_path: Path) -> None:
    data = tmp_path / "medler-data"
    with pytest.raises(KeyLocationError) as refused:
        create_key_file(data / "keys" / "key.json", data_dir=data)
    assert str(refused.value) == (
        f"refusing to create the key file {data / 'keys' / 'key.json'} inside the data "
        f"directory {data}: a key kept with the data is copied and backed up with it; choose "
        "a path outside it with --key-file (the default is ~/.config/medler/key.json)"
    )
    create_key_file(tmp_path / "elsewhere" / "key.json", data_dir=data)


def test_create_reports_an_unwritable_place(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(KeyLocationError, match=r"cannot create the key file .*; choose a"):
        create_key_file(blocker / "key.json")


def test_rotate_makes_a_new_version_in_place(tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    old = create_key_file(path, now=NOW)
    new = rotate_key_file(path, now=NOW + dt.timedelta(days=1))
    assert (new.version, new.previous_key_id, new.path) == (2, old.key_id, path)
    assert new.secret != old.secret and new.key_id != old.key_id
    assert load_key_file(path) == new
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key.json"]  # no temporary left
    assert rotate_key_file(path).version == 3


def test_rotate_refuses_a_bad_key_file(tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    create_key_file(path)
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match="can be read or changed by other users"):
        rotate_key_file(path)


def test_missing(tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    with pytest.raises(KeyFileError) as refused:
        load_key_file(path)
    assert str(refused.value) == (
        f"key file {path} does not exist; create one with 'medler keys init --key-file "
        f"{path}', or set MEDLER_KEY_FILE to the path of your key file"
    )


def test_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError) as refused:
        load_key_file(tmp_path)
    assert str(refused.value) == (
        f"key file {tmp_path} is not a regular file; set --key-file or MEDLER_KEY_FILE to the "
        "key file itself"
    )


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o666])
def test_readable_by_others(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "key.json"
    create_key_file(path)
    path.chmod(mode)
    with pytest.raises(KeyFileError) as refused:
        load_key_file(path)
    assert str(refused.value) == (
        f"key file {path} can be read or changed by other users (mode {mode:04o}); restrict "
        f"it to its owner with 'chmod 600 {path}'"
    )


@pytest.mark.parametrize("content", ["", "\n", "   \n"])
def test_empty(tmp_path: Path, content: str) -> None:
    path = tmp_path / "key.json"
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(KeyFileError) as refused:
        load_key_file(path)
    assert str(refused.value) == (
        f"key file {path} is empty; restore it from your backup, or remove it and create a "
        "new key with 'medler keys init' (a new key means re-ingesting every source)"
    )


def _valid_document(tmp_path: Path) -> dict[str, object]:
    key = create_key_file(tmp_path / "source.json", now=NOW)
    return json.loads(key.path.read_text())


def _edited(document: dict[str, object], **changes: object) -> bytes:
    edited = {**document, **changes}
    return json.dumps({k: v for k, v in edited.items() if v is not ...}).encode()


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"raw": b"{not json"}, "not JSON"),
        ({"raw": b"\xff\xfe"}, "not JSON"),
        ({"raw": b"[1, 2]"}, "not a JSON object"),
        ({"format": "other"}, "not format 'medler-key' version 1"),
        ({"format_version": 2}, "not format 'medler-key' version 1"),
        ({"algorithm": "HMAC-MD5"}, "algorithm is not HMAC-SHA256"),
        ({"key_id": ...}, "field 'key_id' is missing or not a str"),
        ({"version": "1"}, "field 'version' is missing or not a int"),
        ({"version": True}, "field 'version' is missing or not a int"),
        ({"version": 0}, "field 'version' is not a positive whole number"),
        ({"created": "yesterday"}, "field 'created' is not an ISO 8601 time"),
        ({"created": "2026-01-05T09:30:00"}, "field 'created' has no time zone"),
        ({"previous_key_id": 5}, "field 'previous_key_id' is not a string"),
        ({"key": "!!!"}, "field 'key' is not base64"),
        ({"key": base64.b64encode(b"short").decode()}, "the key is not 256 bits"),
        ({"key_id": "mk-0000000000000000"}, "field 'key_id' does not belong to the key"),
        ({"raw": b"x" * 70_000}, "far too large"),
    ],
)
def test_malformed(tmp_path: Path, change: dict[str, object], problem: str) -> None:
    document = _valid_document(tmp_path)
    raw = change.pop("raw", None)
    path = tmp_path / "key.json"
    path.write_bytes(raw if isinstance(raw, bytes) else _edited(document, **change))
    path.chmod(0o600)
    with pytest.raises(KeyFileError) as refused:
        load_key_file(path)
    assert str(refused.value) == (
        f"key file {path} is not a valid medler key file ({problem}); {RESTORE}"
    )


def test_default_path() -> None:
    assert default_key_path({ENV_KEY_FILE: "/srv/keys/k.json"}) == Path("/srv/keys/k.json")
    assert default_key_path({ENV_KEY_FILE: " ", "XDG_CONFIG_HOME": "/cfg"}) == Path(
        "/cfg/medler/key.json"
    )
    assert default_key_path({}) == Path.home() / ".config" / "medler" / "key.json"


def test_environment_variable_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "env-key.json"
    monkeypatch.setenv(ENV_KEY_FILE, str(path))
    key = create_key_file()
    assert key.path == path and path.exists()
    assert load_key_file().key_id == key.key_id
    assert os.environ[ENV_KEY_FILE] == str(path)
