"""A built research snapshot of a small synthetic municipality, shared by the release tests
(``tests/unit/release``, ``tests/privacy``): one per test session, read-only.

Use it through the ``research_dir`` fixture (import it into the test module or a conftest), and
make a fresh engine per test with ``engine(research_dir)`` so that release records never leak
between tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from linkage import prepare_municipality
from linkage.sources.synthetic import SynthConfig
from release import MemoryStore, Releaser

STUDENTS = 1500
WEEKS = 2
SEED = 7


def build_research_data(root: Path, config: SynthConfig) -> Path:
    """The whole path in ``root`` (``linkage.prepare_municipality``): a key, the synthetic
    municipality of ``config``, its extract and both registers ingested, and the research
    tables built (default compute backend). Returns the data directory."""
    data = root / "data"
    prepare_municipality(config, root, data)
    return data


@pytest.fixture(scope="session")
def research_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_research_data(
        tmp_path_factory.mktemp("research-data"),
        SynthConfig(students=STUDENTS, seed=SEED, weeks=WEEKS),
    )


def engine(data_dir: Path) -> Releaser:
    """A releaser on ``data_dir`` with its own in-memory release records."""
    return Releaser(data_dir, store=MemoryStore())
