"""Record keys for the cell-key method: one fixed, secret, uniform key per person.

A person's record key is HMAC-SHA256 of their pseudonym under the cell-key secret, read as a
whole number in ``[0, 2**32)`` (``RECORD_KEY_RANGE``); the release service adds the keys of a
cell's members modulo ``2**32`` to get the cell's key. The key is the same in every query and
every snapshot (the pseudonym is snapshot-independent), and without the secret it cannot be
computed from the pseudonym or recovered from released figures.

The secret is a file of 32 random bytes, created on first use with mode 0600, kept like the
other keys outside the data directory (``MEDLER_CELL_KEY_FILE``, default ``cell-key.secret``
beside the audit key) and refused inside it: whoever holds it can take the perturbation off.
It is not the pseudonymisation key: whoever holds it learns nothing about identities.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import polars as pl

RECORD_KEY_RANGE = 2**32
SECRET_BYTES = 32
_CONTEXT = b"medler cell key v1\x00"


CELL_KEY_ENV = "MEDLER_CELL_KEY_FILE"


def cell_key_path() -> Path:
    """``$MEDLER_CELL_KEY_FILE``, else ``cell-key.secret`` beside the audit key file."""
    from pseudonymise._audit_keys import audit_key_path

    configured = os.environ.get(CELL_KEY_ENV, "").strip()
    return (
        Path(configured).expanduser()
        if configured
        else audit_key_path().parent / ("cell-key.secret")
    )


def load_cell_key_secret(path: Path, *, data_dir: Path | None = None) -> bytes:
    """The cell-key secret in ``path``, created (32 random bytes, mode 0600) if absent; refused
    inside ``data_dir``."""
    from pseudonymise._audit_keys import check_key_place

    check_key_place(path, data_dir, "cell-key secret", CELL_KEY_ENV)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as f:
            f.write(secrets.token_bytes(SECRET_BYTES))
            f.flush()
            os.fsync(f.fileno())
    secret = path.read_bytes()
    if len(secret) != SECRET_BYTES:
        raise ValueError(f"the cell-key secret must be {SECRET_BYTES} bytes; it is damaged")
    return secret


def record_keys(pseudonyms: pl.Series, secret: bytes) -> pl.Series:
    """Each pseudonym's record key, a whole number in ``[0, 2**32)`` (``UInt32``)."""
    if len(secret) != SECRET_BYTES:
        raise ValueError(f"the cell-key secret must be {SECRET_BYTES} bytes")

    def key(value: object) -> int:
        digest = hmac.new(secret, _CONTEXT + str(value).encode(), hashlib.sha256).digest()
        return int.from_bytes(digest[:4], "big")

    keys = [key(v) for v in pseudonyms.to_list()]
    return pl.Series("record_key", keys, dtype=pl.UInt32)
