"""Ingestion loads the key knowing the data directory: a key copied or linked into it is
refused before anything is read or written, and the snapshot in use stays the one in use."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from linkage import current_snapshot, ingest_extract, ingest_register
from pseudonymise import KeyFileError
from tests.unit.linkage.ingest.conftest import Ingested

REFUSED = r"^refusing to use the key file .*: it is inside the data directory "


@pytest.fixture
def data_dir(ingested: Ingested, tmp_path: Path) -> Path:
    target = tmp_path / "data"
    ingest_extract(ingested.extract.out / "ss12000", target, key_file=ingested.key_file)
    return target


def _copied_in(key: Path, data_dir: Path) -> Path:
    copy = data_dir / "key.json"
    shutil.copy2(key, copy)
    return copy


def _linked_in(key: Path, data_dir: Path) -> Path:
    inside = data_dir / "keys" / "key.json"
    inside.parent.mkdir()
    shutil.copy2(key, inside)
    link = data_dir.parent / "key-link.json"
    link.symlink_to(inside)
    return link


@pytest.mark.parametrize("place", [_copied_in, _linked_in], ids=["copied", "linked"])
def test_an_extract_is_not_ingested_with_a_key_in_the_data_directory(
    ingested: Ingested, data_dir: Path, place: Callable[[Path, Path], Path]
) -> None:
    key = place(ingested.key_file, data_dir)
    before = current_snapshot(data_dir)
    with pytest.raises(KeyFileError, match=REFUSED):
        ingest_extract(ingested.extract.out / "ss12000", data_dir, key_file=key)
    assert current_snapshot(data_dir) == before


@pytest.mark.parametrize("place", [_copied_in, _linked_in], ids=["copied", "linked"])
def test_a_register_is_not_ingested_with_a_key_in_the_data_directory(
    ingested: Ingested, data_dir: Path, place: Callable[[Path, Path], Path]
) -> None:
    key = place(ingested.key_file, data_dir)
    before = current_snapshot(data_dir)
    register = ingested.extract.out / "registers" / "teacher_register.csv"
    with pytest.raises(KeyFileError, match=REFUSED):
        ingest_register("teachers", register, data_dir, key_file=key)
    assert current_snapshot(data_dir) == before


def test_a_first_ingestion_into_a_new_data_directory_is_refused_too(
    ingested: Ingested, tmp_path: Path
) -> None:
    data = tmp_path / "fresh"
    data.mkdir()
    key = _copied_in(ingested.key_file, data)
    with pytest.raises(KeyFileError, match=REFUSED):
        ingest_extract(ingested.extract.out / "ss12000", data, key_file=key)
    assert sorted(p.name for p in data.iterdir()) == ["key.json"]
