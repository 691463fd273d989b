"""Two different inputs with one pseudonym stop ingestion; they are never merged."""

from __future__ import annotations

import zlib

import numpy as np
import polars as pl
import pytest

from pseudonymise import (
    CollisionError,
    CollisionGuard,
    Domain,
    Pseudonymiser,
    check_collisions,
)
from pseudonymise._engine import HmacEngine

MESSAGE = (
    "1 pseudonym is shared by different inputs in domain '{domain}'; ingestion is refused so "
    "that different people or records are never merged; create a new key with 'medler keys "
    "rotate' and ingest again from the source extracts"
)


def test_check_collisions_refuses_two_inputs_with_one_pseudonym() -> None:
    with pytest.raises(CollisionError) as refused:
        check_collisions(pl.Series(["a", "b", "c"]), pl.Series([1, 1, 2]), domain="student")
    assert str(refused.value) == MESSAGE.format(domain="student")


def test_check_collisions_accepts_repeats_and_nulls() -> None:
    check_collisions(
        pl.Series(["a", "a", None, "b"]), pl.Series([1, 1, 1, None]), domain=Domain.GROUP
    )
    with pytest.raises(ValueError, match="same length"):
        check_collisions(pl.Series(["a"]), pl.Series([1, 2]), domain=Domain.GROUP)


def test_counts_every_shared_pseudonym() -> None:
    with pytest.raises(CollisionError, match=r"^2 pseudonyms are shared"):
        check_collisions(pl.Series(["a", "b", "c", "d"]), pl.Series([1, 1, 2, 2]), domain="lesson")


def test_guard_remembers_across_calls() -> None:
    guard = CollisionGuard()
    guard.record(Domain.STUDENT, pl.Series([1, 2]), pl.Series([10, 20]))
    guard.record(Domain.STUDENT, pl.Series([1, 3]), pl.Series([10, 30]))  # same input again
    guard.record(Domain.TEACHER, pl.Series([1]), pl.Series([99]))  # another domain
    assert guard.size(Domain.STUDENT) == 3
    with pytest.raises(CollisionError) as refused:
        guard.record(Domain.STUDENT, pl.Series([2]), pl.Series([21]))
    assert str(refused.value) == MESSAGE.format(domain="student")
    assert repr(guard) == "CollisionGuard(student: 3, teacher: 1)"


def _colliding_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every input gets pseudonym 7, with a tag that still tells inputs apart."""

    def kept_bytes(self: HmacEngine, prefix: bytes, values: pl.Series, **kw: int) -> np.ndarray:
        tags = np.array([zlib.crc32(v) for v in values.to_list()], dtype=np.uint64)
        return np.stack([np.full(len(values), 7, dtype=np.uint64), tags], axis=1)

    monkeypatch.setattr(HmacEngine, "kept_bytes", kept_bytes)


def test_pseudonymiser_refuses_a_collision_within_a_call(
    pseudonymiser: Pseudonymiser, monkeypatch: pytest.MonkeyPatch
) -> None:
    _colliding_engine(monkeypatch)
    with pytest.raises(CollisionError) as refused:
        pseudonymiser.pseudonymise("lesson", pl.Series(["l1", "l2"]))
    assert str(refused.value) == MESSAGE.format(domain="lesson")


def test_pseudonymiser_refuses_a_collision_across_calls_for_people(
    pseudonymiser: Pseudonymiser, monkeypatch: pytest.MonkeyPatch
) -> None:
    _colliding_engine(monkeypatch)
    pseudonymiser.pseudonymise("student", pl.Series(["194608239986"]))
    pseudonymiser.pseudonymise("student", pl.Series(["19460823-9986"]))  # the same person
    with pytest.raises(CollisionError) as refused:
        pseudonymiser.pseudonymise("student", pl.Series(["195704289999"]))
    assert str(refused.value) == MESSAGE.format(domain="student")
