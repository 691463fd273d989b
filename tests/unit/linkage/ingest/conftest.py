"""A synthetic extract ingested once per session, and a key file for tests that ingest."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from linkage import IngestReport, current_snapshot, ingest_extract
from linkage.sources.synthetic import SynthConfig, SynthSummary, generate_municipality
from pseudonymise import create_key_file


@dataclass
class Ingested:
    extract: SynthSummary
    data_dir: Path
    key_file: Path
    report: IngestReport

    @property
    def snapshot(self) -> Path:
        return current_snapshot(self.data_dir)


@pytest.fixture(scope="session")
def session_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "key.json"
    create_key_file(path)
    return path


@pytest.fixture(scope="session")
def ingested(tmp_path_factory: pytest.TempPathFactory, session_key: Path) -> Ingested:
    root = tmp_path_factory.mktemp("ingest")
    extract = generate_municipality(SynthConfig(students=400, seed=21, weeks=2), root / "extract")
    data_dir = root / "data"
    report = ingest_extract(extract.out / "ss12000", data_dir, key_file=session_key)
    return Ingested(extract, data_dir, session_key, report)
