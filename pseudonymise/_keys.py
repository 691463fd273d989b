"""Key files: create, load (and refuse bad ones), rotate.

A key file is a small JSON document, readable and writable by its owner only (mode 0600):

    {
      "format": "medler-key", "format_version": 1, "algorithm": "HMAC-SHA256",
      "key_id": "mk-…", "version": 1, "created": "2026-01-05T09:30:00Z",
      "previous_key_id": null,
      "key": "<32 random bytes, base64>"
    }

``key_id`` is derived from the key (the first 64 bits of HMAC(key, "medler key id"), in hex),
so it names the key without revealing it and a file whose id does not match its key is
refused. Snapshots record the ``KeyRef`` (key id and version), never the key.

Where it lives: ``--key-file``, else ``$MEDLER_KEY_FILE``, else
``$XDG_CONFIG_HOME/medler/key.json`` (``~/.config/medler/key.json``): outside the data
directory, so that a copy or a backup of the data never carries the key. Creating a key there
is refused, and so is loading one from there (a key copied or linked into the data directory)
wherever the caller knows the data directory: every ingestion does.

Rotation writes a new key, version + 1, to the same path (atomically) and records the previous
key id. The previous key is not kept: the service holds no raw IDs, so a new key means
re-ingesting from the source extracts, after which snapshots under the old key are retired.
See docs/how-to/manage-keys.md.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.hmac import HMAC

from pseudonymise._errors import KeyFileError, KeyLocationError

ENV_KEY_FILE = "MEDLER_KEY_FILE"
KEY_BYTES = 32  # 256 bits
FORMAT = "medler-key"
FORMAT_VERSION = 1
ALGORITHM = "HMAC-SHA256"
KEY_ID_PREFIX = "mk-"
OWNER_ONLY = 0o600
_MAX_FILE_BYTES = 64 * 1024
_KEY_ID_MESSAGE = b"medler key id"
_RESTORE = (
    "restore it from your backup, or create a new key with 'medler keys init' "
    "(a new key means re-ingesting every source)"
)


@dataclass(frozen=True)
class KeyRef:
    """What a snapshot or a log may record about a key: its id and version. Never the key."""

    key_id: str
    version: int


@dataclass(frozen=True)
class KeyFile:
    """A loaded key. ``secret`` is left out of ``repr`` and the object refuses to be pickled."""

    path: Path
    key_id: str
    version: int
    created: dt.datetime
    previous_key_id: str | None
    secret: bytes = field(repr=False)

    @property
    def ref(self) -> KeyRef:
        return KeyRef(key_id=self.key_id, version=self.version)

    def __reduce__(self) -> str | tuple[Any, ...]:
        raise TypeError("a KeyFile holds key material and cannot be pickled")


def key_id_for(secret: bytes) -> str:
    """The public id of a key: 64 bits of HMAC(key, "medler key id"), in hex."""
    mac = HMAC(secret, hashes.SHA256())
    mac.update(_KEY_ID_MESSAGE)
    return KEY_ID_PREFIX + mac.finalize()[:8].hex()


def default_key_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$MEDLER_KEY_FILE``, else ``$XDG_CONFIG_HOME/medler/key.json``, else ``~/.config/…``."""
    env = os.environ if environ is None else environ
    if env.get(ENV_KEY_FILE, "").strip():
        return Path(env[ENV_KEY_FILE].strip()).expanduser()
    config = env.get("XDG_CONFIG_HOME", "").strip()
    base = Path(config).expanduser() if config else Path.home() / ".config"
    return base / "medler" / "key.json"


def resolve_key_path(path: Path | None = None) -> Path:
    """An explicit path if given, else ``default_key_path()``."""
    return path.expanduser() if path is not None else default_key_path()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _document(key: KeyFile) -> bytes:
    body = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "algorithm": ALGORITHM,
        "key_id": key.key_id,
        "version": key.version,
        "created": key.created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "previous_key_id": key.previous_key_id,
        "note": (
            "Secret pseudonymisation key. Keep it readable by its owner only, outside the "
            "data directory, with an offline backup."
        ),
        "key": base64.b64encode(key.secret).decode("ascii"),
    }
    return (json.dumps(body, indent=2) + "\n").encode("utf-8")


def _new_key(path: Path, *, version: int, previous: str | None, now: dt.datetime | None) -> KeyFile:
    secret = secrets.token_bytes(KEY_BYTES)
    return KeyFile(
        path=path,
        key_id=key_id_for(secret),
        version=version,
        created=(now or _now()).astimezone(dt.UTC).replace(microsecond=0),
        previous_key_id=previous,
        secret=secret,
    )


def _is_inside(path: Path, directory: Path) -> bool:
    try:
        path.resolve().relative_to(directory.resolve())
    except ValueError:
        return False
    return True


def _write_new_file(path: Path, content: bytes) -> None:
    """Create ``path`` (it must not exist) with mode 0600 and ``content``, flushed to disk."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY)
    try:
        os.fchmod(descriptor, OWNER_ONLY)
        os.write(descriptor, content)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _sync_directory(directory: Path) -> None:
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:  # not possible on every platform; the rename itself is atomic
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def create_key_file(
    path: Path | None = None,
    *,
    data_dir: Path | None = None,
    now: dt.datetime | None = None,
) -> KeyFile:
    """Create a new key (version 1) at ``path``; never overwrites an existing file.

    Refuses a path inside ``data_dir``: a key kept beside the data it protects is copied and
    backed up with it.
    """
    target = resolve_key_path(path)
    if data_dir is not None and _is_inside(target, data_dir):
        raise KeyLocationError(
            f"refusing to create the key file {target} inside the data directory {data_dir}: "
            "a key kept with the data is copied and backed up with it; choose a path outside "
            "it with --key-file (the default is ~/.config/medler/key.json)"
        )
    if target.exists() or target.is_symlink():
        raise KeyLocationError(
            f"key file {target} already exists; a key is never overwritten: use "
            "'medler keys rotate' to replace it with a new version, or choose another path "
            "with --key-file"
        )
    key = _new_key(target, version=1, previous=None, now=now)
    try:
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_new_file(target, _document(key))
    except OSError as error:
        raise KeyLocationError(
            f"cannot create the key file {target}: {error.strerror or type(error).__name__}; "
            "choose a writable location with --key-file"
        ) from None
    _sync_directory(target.parent)
    return key


def rotate_key_file(
    path: Path | None = None, *, now: dt.datetime | None = None, data_dir: Path | None = None
) -> KeyFile:
    """Replace the key at ``path`` with a new one, version + 1; returns the new key. With
    ``data_dir``, a key inside it is refused, as on every load.

    The file is replaced atomically (a new file, then a rename), so a crash leaves either the
    old key or the new one, never half of either.
    """
    current = load_key_file(path, data_dir=data_dir)
    new = _new_key(current.path, version=current.version + 1, previous=current.key_id, now=now)
    temporary = current.path.with_name(f".{current.path.name}.{secrets.token_hex(6)}.tmp")
    try:
        _write_new_file(temporary, _document(new))
        os.replace(temporary, current.path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise KeyLocationError(
            f"cannot replace the key file {current.path}: "
            f"{error.strerror or type(error).__name__}; the old key is unchanged"
        ) from None
    _sync_directory(current.path.parent)
    return new


def _malformed(path: Path, problem: str) -> KeyFileError:
    return KeyFileError(f"key file {path} is not a valid medler key file ({problem}); {_RESTORE}")


def _check_permissions(path: Path, status: os.stat_result) -> None:
    if os.name == "nt":  # POSIX modes do not describe Windows access control
        return
    loose = stat.S_IMODE(status.st_mode) & 0o077
    if loose:
        raise KeyFileError(
            f"key file {path} can be read or changed by other users "
            f"(mode {stat.S_IMODE(status.st_mode):04o}); restrict it to its owner with "
            f"'chmod 600 {path}'"
        )


def _field(document: dict[str, Any], name: str, kind: type, path: Path) -> Any:
    value = document.get(name)
    if not isinstance(value, kind) or isinstance(value, bool) != (kind is bool):
        raise _malformed(path, f"field '{name}' is missing or not a {kind.__name__}")
    return value


def _check_place(target: Path, data_dir: Path) -> None:
    """Refuse a key file inside ``data_dir``: named there, or reached there through a symlink."""
    resolved = target.resolve()
    named = target.parent.resolve() / target.name  # the link itself, where the path names one
    directory = data_dir.resolve()
    if not (named.is_relative_to(directory) or resolved.is_relative_to(directory)):
        return
    shown = str(target) if resolved == named else f"{target} (which is {resolved})"
    raise KeyFileError(
        f"refusing to use the key file {shown}: it is inside the data directory {data_dir}, "
        "where a copy or a backup of the data carries the key with it; move the key file out "
        "of the data directory (to ~/.config/medler/key.json, say) and point --key-file or "
        f"{ENV_KEY_FILE} at its new place"
    )


def load_key_file(path: Path | None = None, *, data_dir: Path | None = None) -> KeyFile:
    """Load and check the key file; refuse a missing, empty, loose or malformed one, and,
    when ``data_dir`` is given, one inside it (symlinks resolved) and one whose key was
    shredded for that data (``_shred``).

    Every refusal says how to fix it and never quotes the file's content.
    """
    target = resolve_key_path(path)
    if data_dir is not None:
        _check_place(target, data_dir)
    try:
        status = target.stat()
    except FileNotFoundError:
        raise KeyFileError(
            f"key file {target} does not exist; create one with "
            f"'medler keys init --key-file {target}', or set {ENV_KEY_FILE} to the path of "
            "your key file"
        ) from None
    except OSError as error:
        raise KeyFileError(
            f"cannot read key file {target}: {error.strerror or type(error).__name__}"
        ) from None
    if not stat.S_ISREG(status.st_mode):
        raise KeyFileError(
            f"key file {target} is not a regular file; set --key-file or {ENV_KEY_FILE} to "
            "the key file itself"
        )
    _check_permissions(target, status)
    if status.st_size > _MAX_FILE_BYTES:
        raise _malformed(target, "far too large")
    try:
        raw = target.read_bytes()
    except OSError as error:
        raise KeyFileError(
            f"cannot read key file {target}: {error.strerror or type(error).__name__}"
        ) from None
    if not raw.strip():
        raise KeyFileError(
            f"key file {target} is empty; restore it from your backup, or remove it and "
            "create a new key with 'medler keys init' (a new key means re-ingesting every "
            "source)"
        )
    key = _parse(target, raw)
    if data_dir is not None:
        from pseudonymise._shred import refuse_shredded

        refuse_shredded(key, data_dir)
    return key


def _parse(path: Path, raw: bytes) -> KeyFile:
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _malformed(path, "not JSON") from None
    if not isinstance(document, dict):
        raise _malformed(path, "not a JSON object")
    if document.get("format") != FORMAT or document.get("format_version") != FORMAT_VERSION:
        raise _malformed(path, f"not format '{FORMAT}' version {FORMAT_VERSION}")
    if document.get("algorithm") != ALGORITHM:
        raise _malformed(path, f"algorithm is not {ALGORITHM}")
    key_id = _field(document, "key_id", str, path)
    version = _field(document, "version", int, path)
    if version < 1:
        raise _malformed(path, "field 'version' is not a positive whole number")
    try:
        created = dt.datetime.fromisoformat(_field(document, "created", str, path))
    except ValueError:
        raise _malformed(path, "field 'created' is not an ISO 8601 time") from None
    if created.tzinfo is None:
        raise _malformed(path, "field 'created' has no time zone")
    previous = document.get("previous_key_id")
    if previous is not None and not isinstance(previous, str):
        raise _malformed(path, "field 'previous_key_id' is not a string")
    try:
        secret = base64.b64decode(_field(document, "key", str, path), validate=True)
    except (binascii.Error, ValueError):
        raise _malformed(path, "field 'key' is not base64") from None
    if len(secret) != KEY_BYTES:
        raise _malformed(path, f"the key is not {KEY_BYTES * 8} bits")
    if key_id != key_id_for(secret):
        raise _malformed(path, "field 'key_id' does not belong to the key")
    return KeyFile(
        path=path,
        key_id=key_id,
        version=version,
        created=created.astimezone(dt.UTC),
        previous_key_id=previous,
        secret=secret,
    )
