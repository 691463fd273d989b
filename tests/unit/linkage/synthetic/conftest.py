"""Small synthetic municipalities, generated once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from linkage.sources.synthetic import SynthConfig, SynthSummary, generate_municipality


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> SynthSummary:
    """300 pupils over 3 weeks: small enough to validate every record against the schema."""
    out = tmp_path_factory.mktemp("synth") / "tiny"
    return generate_municipality(SynthConfig(students=300, seed=7, weeks=3), out)


@pytest.fixture(scope="session")
def town(tmp_path_factory: pytest.TempPathFactory) -> SynthSummary:
    """2,400 pupils (several schools) over a whole school year: for the realism checks."""
    out = tmp_path_factory.mktemp("synth") / "town"
    return generate_municipality(SynthConfig(students=2400, seed=11, workers=2), out)


def read_pages(out: Path, resource: str) -> list[dict]:
    import orjson

    return [
        orjson.loads(p.read_bytes()) for p in sorted((out / "ss12000" / resource).glob("*.json"))
    ]


def records(out: Path, resource: str) -> list[dict]:
    return [r for page in read_pages(out, resource) for r in page["data"]]
