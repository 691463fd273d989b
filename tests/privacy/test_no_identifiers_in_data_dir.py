"""After ingestion, nothing in the data directory identifies a person: no national ID (in any
written form), no name, no e-mail, no source system person id, no key."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from tests.unit.linkage.ingest.conftest import Ingested, ingested, session_key

__all__ = ["ingested", "session_key"]  # session fixtures, shared with the ingestion tests


def _forbidden(ingested: Ingested) -> tuple[set[str], set[int]]:
    texts: set[str] = set()
    numbers: set[int] = set()
    for page in sorted((ingested.extract.out / "ss12000" / "persons").glob("*.json")):
        for person in orjson.loads(page.read_bytes())["data"]:
            texts.add(person["id"])
            texts.add(person["familyName"])
            for email in person.get("emails", []):
                texts.add(email["value"])
            value = person.get("civicNo", {}).get("value")
            if value:
                digits = "".join(c for c in value if c.isdigit())
                texts.update({value, digits, digits[-10:], f"{digits[-10:-4]}-{digits[-4:]}"})
                numbers.update({int(digits), int(digits[-10:])})
    key = json.loads(ingested.key_file.read_text(encoding="utf-8"))["key"]
    texts.add(key)
    texts.add(base64.b64decode(key).hex())
    return {t for t in texts if len(t) >= 5}, numbers


def _leaks(data_dir: Path, texts: set[str], numbers: set[int]) -> tuple[list[str], int]:
    """Every file under ``data_dir`` that holds a forbidden value, and how many values were read."""
    found: list[str] = []
    checked = 0
    for path in sorted(data_dir.rglob("*")):
        if not path.is_file():
            continue
        if path.suffix == ".parquet":
            for column in pq.read_table(path).columns:
                values = column.to_pylist()
                checked += len(values)
                ints = {v for v in values if isinstance(v, int) and not isinstance(v, bool)}
                strings = {v for v in values if isinstance(v, str)}
                if ints & numbers or any(t in v for v in strings for t in texts):
                    found.append(f"{path.name}:{column._name}")
        elif any(t in path.read_bytes().decode("utf-8") for t in texts):
            found.append(path.name)
    return found, checked


def test_data_directory_holds_no_identifier(ingested: Ingested) -> None:
    texts, numbers = _forbidden(ingested)
    found, checked = _leaks(ingested.data_dir, texts, numbers)
    assert found == []
    assert checked > 100_000  # the scan really read the tables


def test_the_scan_finds_a_planted_leak(ingested: Ingested, tmp_path: Path) -> None:
    """The scan is not a test that cannot fail: a national ID planted in a copy is found."""
    texts, numbers = _forbidden(ingested)
    copy = tmp_path / "data"
    shutil.copytree(ingested.data_dir, copy)
    leaked = next(t for t in sorted(texts) if t.isdigit() and len(t) == 12)
    pq.write_table(pa.table({"note": [f"pupil {leaked}"]}), copy / "snapshots" / "leak.parquet")
    pq.write_table(pa.table({"n": [int(leaked)]}), copy / "snapshots" / "leak2.parquet")
    found, _ = _leaks(copy, texts, numbers)
    assert sorted(found) == ["leak.parquet:note", "leak2.parquet:n"]
