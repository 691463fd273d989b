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
    _workers,
    check_collisions,
)


def pairs(values: list[int]) -> np.ndarray:
    return np.array(values, dtype=np.int64)


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
    guard.record(Domain.STUDENT, pairs([2, 1]), pairs([20, 10]))
    guard.record(Domain.STUDENT, pairs([1, 3, 0]), pairs([10, 30, 5]))  # 1: the same input again
    guard.record(Domain.TEACHER, pairs([1]), pairs([99]))  # another domain
    assert guard.size(Domain.STUDENT) == 4
    with pytest.raises(CollisionError) as refused:
        guard.record(Domain.STUDENT, pairs([2]), pairs([21]))
    assert str(refused.value) == MESSAGE.format(domain="student")
    assert repr(guard) == "CollisionGuard(student: 4, teacher: 1)"
    with pytest.raises(CollisionError, match=r"^1 pseudonym is shared"):
        guard.record(Domain.TEACHER, pairs([5, 5]), pairs([1, 2]))  # within one batch


def test_guard_agrees_with_a_set_on_random_batches() -> None:
    rng = np.random.default_rng(3)
    guard, seen = CollisionGuard(), set()
    for _ in range(20):
        pids = rng.integers(0, 5_000, size=300)
        guard.record(Domain.LESSON, pids, pids * 7)  # tag follows pid: never a collision
        seen.update(pids.tolist())
    assert guard.size(Domain.LESSON) == len(seen)
    with pytest.raises(CollisionError):
        guard.record(Domain.LESSON, np.array([next(iter(seen))]), np.array([-1]))


def _colliding_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every input gets pseudonym bits 7, with a tag that still tells inputs apart."""

    def kept_bytes(secret: bytes, prefix: bytes, values: list[bytes]) -> bytes:
        return b"".join(
            (7).to_bytes(8, "big") + zlib.crc32(value).to_bytes(8, "big") for value in values
        )

    monkeypatch.setattr(_workers, "hmac_kept_bytes", kept_bytes)


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
