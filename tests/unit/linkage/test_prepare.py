"""``prepare_municipality`` keeps the raw synthetic extract out of the data directory. The
whole recipe runs in the demo's, the dummy service's and the release tests' fixtures
(tests/api/test_cli_synth.py, tests/research_data.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from linkage import prepare_municipality
from linkage.sources.synthetic import SynthConfig
from medler.errors import UsageError


def test_the_extract_is_never_written_inside_the_data_directory(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with pytest.raises(UsageError) as caught:
        prepare_municipality(SynthConfig(students=60), data / "source", data)
    assert str(caught.value) == (
        f"the synthetic extract's folder {data / 'source'} is inside the data directory {data}; "
        "the extract holds raw identity numbers and is kept outside it"
    )
    assert not data.exists()
