"""Fuzzing the OneRoster reader: extra CSV rows of any shape, and files of any bytes, either
ingest with every row accounted for or stop with one clear error naming the file."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linkage import ingest_extract
from medler.errors import InputFileError
from tests.unit.linkage.ingest.conftest import session_key
from tests.unit.linkage.oneroster.conftest import BASE, write_set

__all__ = ["session_key"]

text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
cells = text | st.sampled_from(
    [
        "org-1",
        "c-1",
        "u-stu",
        "u-tea",
        "student",
        "teacher",
        "school",
        "tobedeleted",
        "active",
        "2024-08-19",
        "true",
        "",
        '"',
        ",",
        "\n",
        "189001019802",
    ]
)


@st.composite
def rows(draw: st.DrawFn, stem: str) -> str:
    width = BASE[stem].splitlines()[0].count(",") + 1
    lines = []
    for _ in range(draw(st.integers(1, 3))):
        values = draw(st.lists(cells, min_size=width - 1, max_size=width + 1))
        quoted = ['"' + v.replace('"', '""') + '"' if draw(st.booleans()) else v for v in values]
        lines.append(",".join(quoted))
    return "\n".join(lines) + "\n"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_rows_of_any_shape_are_accounted_for(data: st.DataObject, session_key: Path) -> None:
    stem = data.draw(st.sampled_from(sorted(BASE)), label="file")
    extra = data.draw(rows(stem), label="rows")
    with tempfile.TemporaryDirectory() as tmp:
        root = write_set(Path(tmp) / "set", {stem: extra})
        try:
            report = ingest_extract(root, Path(tmp) / "data", key_file=session_key)
        except InputFileError as error:
            assert str(error).startswith(f"{stem}.csv")
            assert not (Path(tmp) / "data" / "CURRENT").exists()
            return
    for name, count in report.counts.items():
        assert count.read == count.accepted + count.quarantined, name


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stem=st.sampled_from(sorted(BASE)), content=st.binary(max_size=300))
def test_files_of_any_bytes_are_read_or_refused_clearly(
    stem: str, content: bytes, session_key: Path
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = write_set(Path(tmp) / "set")
        (root / f"{stem}.csv").write_bytes(content)
        try:
            report = ingest_extract(root, Path(tmp) / "data", key_file=session_key)
        except InputFileError as error:
            assert str(error).startswith(f"{stem}.csv")
            return
    for name, count in report.counts.items():
        assert count.read == count.accepted + count.quarantined, name
