"""A built research snapshot of a small synthetic municipality, shared by the release tests
(``tests/unit/release``, ``tests/privacy``): one per test session, read-only.

Use it through the ``research_dir`` fixture (import it into the test module or a conftest), and
make a fresh engine per test with ``engine(research_dir)`` so that release records never leak
between tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from linkage import build_research_tables, ingest_extract, ingest_register
from linkage.sources.synthetic import SynthConfig, generate_municipality
from pseudonymise import create_key_file
from release import MemoryStore, ReleaseEngine

STUDENTS = 1500
WEEKS = 2
SEED = 7


def build_research_data(root: Path, config: SynthConfig) -> Path:
    """The whole path in ``root``: a key, the synthetic municipality of ``config``, its
    extract and both registers ingested, and the research tables built (default engine).
    Returns the data directory."""
    key = root / "key.json"
    create_key_file(key)
    extract = generate_municipality(config, root / "extract")
    data = root / "data"
    ingest_extract(extract.out / "ss12000", data, key_file=key)
    registers = extract.out / "registers"
    ingest_register("teachers", registers / "teacher_register.csv", data, key_file=key)
    ingest_register("students", registers / "student_register.csv", data, key_file=key)
    build_research_tables(data)
    return data


@pytest.fixture(scope="session")
def research_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_research_data(
        tmp_path_factory.mktemp("research-data"),
        SynthConfig(students=STUDENTS, seed=SEED, weeks=WEEKS),
    )


def engine(data_dir: Path) -> ReleaseEngine:
    """A release engine on ``data_dir`` with its own in-memory release records."""
    return ReleaseEngine(data_dir, store=MemoryStore())
