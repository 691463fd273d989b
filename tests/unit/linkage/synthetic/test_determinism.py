"""The same seed gives the same bytes, however many processes draw the lessons."""

from __future__ import annotations

import hashlib
from pathlib import Path

from linkage.sources.synthetic import SynthConfig, generate_municipality


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_bytes_in_one_or_two_processes(tmp_path: Path) -> None:
    one = generate_municipality(
        SynthConfig(students=250, seed=3, weeks=2, workers=1), tmp_path / "a"
    )
    two = generate_municipality(
        SynthConfig(students=250, seed=3, weeks=2, workers=2), tmp_path / "b"
    )
    assert _digest(one.out) == _digest(two.out)


def test_another_seed_gives_another_municipality(tmp_path: Path) -> None:
    a = generate_municipality(SynthConfig(students=120, seed=1, weeks=1), tmp_path / "a")
    b = generate_municipality(SynthConfig(students=120, seed=2, weeks=1), tmp_path / "b")
    assert _digest(a.out) != _digest(b.out)
