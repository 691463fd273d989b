"""The engine gives the same bits in-process, over worker processes, and after a fallback."""

from __future__ import annotations

import pickle

import numpy as np
import polars as pl
import pytest

from pseudonymise import Domain, KeyFile, Pseudonymiser
from pseudonymise._workers import HashingWorkers
from tests.unit.pseudonymise.conftest import AS_OF, FIXED_SECRET


def _values(n: int) -> pl.Series:
    return pl.Series([f"id-{i}" for i in range(n)]).cast(pl.Binary)


def test_workers_and_in_process_agree() -> None:
    values = _values(5_000)
    single = HashingWorkers(FIXED_SECRET, workers=1)
    pooled = HashingWorkers(FIXED_SECRET, workers=2)
    try:
        expected = single.kept_words(b"p\x1f\x1f", values, parallel_min=1)
        got = pooled.kept_words(b"p\x1f\x1f", values, parallel_min=1)
        assert np.array_equal(expected, got)
        assert expected.shape == (5_000, 2)
    finally:
        pooled.close()
        single.close()


def test_pseudonymiser_with_workers_matches_a_single_process(key: KeyFile) -> None:
    ids = pl.Series(["194608239986", "19460823-9986", None, "195704289999"] * 500)
    groups = pl.Series([f"g{i % 700}" for i in range(3_000)])
    with (
        Pseudonymiser(key, workers=1) as single,
        Pseudonymiser(key, workers=2, parallel_min=100) as pooled,
    ):
        pooled.start_workers()
        assert (single.workers, pooled.workers) == (1, 2)
        assert pooled.pseudonymise("student", ids, as_of=AS_OF).equals(
            single.pseudonymise("student", ids, as_of=AS_OF)
        )
        assert pooled.pseudonymise(Domain.GROUP, groups).equals(
            single.pseudonymise(Domain.GROUP, groups)
        )


def test_a_broken_pool_falls_back_to_one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    from concurrent.futures.process import BrokenProcessPool

    class Broken:
        def submit(self, *args: object, **kwargs: object) -> None:
            raise BrokenProcessPool("workers could not start")

        def shutdown(self, **kwargs: object) -> None:
            pass

    engine = HashingWorkers(FIXED_SECRET, workers=2)
    monkeypatch.setattr(engine, "_ensure_executor", Broken)
    values = _values(50)
    got = engine.kept_words(b"", values, parallel_min=1)
    assert engine.workers == 1
    assert np.array_equal(
        got, HashingWorkers(FIXED_SECRET, workers=1).kept_words(b"", values, parallel_min=1)
    )


def test_engine_cannot_be_pickled() -> None:
    engine = HashingWorkers(FIXED_SECRET, workers=1)
    assert repr(engine) == "HashingWorkers(workers=1)"
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(engine)
