"""Keys and pseudonymisers for the pseudonymise unit tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from pseudonymise import KeyFile, Pseudonymiser
from pseudonymise._keys import key_id_for

FIXED_SECRET = bytes(range(32))
AS_OF = dt.date(2026, 11, 22)


def make_key(secret: bytes = FIXED_SECRET, version: int = 1) -> KeyFile:
    """A key that never touched a disk, for tests that need a known secret."""
    return KeyFile(
        path=Path("unused-key.json"),
        key_id=key_id_for(secret),
        version=version,
        created=dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.UTC),
        previous_key_id=None,
        secret=secret,
    )


@pytest.fixture
def key() -> KeyFile:
    return make_key()


@pytest.fixture
def pseudonymiser(key: KeyFile) -> Iterator[Pseudonymiser]:
    with Pseudonymiser(key, workers=1) as instance:
        yield instance
