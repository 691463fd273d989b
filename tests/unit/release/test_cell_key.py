"""The cell-key method (``mode: "ckm"``): the same cell always gets the same noise, the noise
comes from the published perturbation table, margins are perturbed from their own keys, and
the policy says which tables may use it."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from pydantic import ValidationError

from pseudonymise import load_cell_key_secret, record_keys
from release import MemoryStore, QueryRefused, QuerySpec, Releaser
from release._ptable import build_ptable, ptable_csv
from tests.research_data import engine, research_dir

__all__ = ["research_dir"]

POLICIES = Path(__file__).resolve().parents[3] / "policies"
BY_SCHOOL = QuerySpec.model_validate(
    {
        "table": "student_terms",
        "group_by": ["school_code", "grade"],
        "mode": "ckm",
        "margins": True,
        "measures": [{"kind": "count_students"}],
    }
)


def exact(e: Releaser, spec: QuerySpec) -> dict[tuple[object, ...], int]:
    """The true counts of ``spec``'s cells and margins, read straight from the table."""
    lf = e._frame(spec.table)._lazy()
    out: dict[tuple[object, ...], int] = {}
    keys = list(spec.keys)
    for level in [keys, ["school_code"], ["grade"], []]:
        if level:
            counts = lf.group_by(level).agg(pl.col("student_pid").n_unique().alias("n"))
        else:
            counts = lf.select(pl.col("student_pid").n_unique().alias("n"))
        for row in counts.collect().iter_rows(named=True):
            out[tuple(row.get(k) for k in keys)] = row["n"]
    return out


def cells(release: object) -> dict[tuple[object, ...], int]:
    return {
        tuple(c.keys[k] for k in BY_SCHOOL.keys): int(c.values["count_students"])
        for c in release.cells
    }  # type: ignore[attr-defined]


def test_the_same_query_gets_the_same_numbers_in_a_new_engine(research_dir: Path) -> None:
    first = engine(research_dir).release(BY_SCHOOL, "alice", project="p")
    again = engine(research_dir).release(BY_SCHOOL, "bob", project="q")
    assert first.mode == "ckm" and first.rho == 0
    assert {c.status for c in first.cells} == {"perturbed"}
    assert cells(first) == cells(again)


def test_each_cell_is_its_true_count_plus_noise_from_the_table(research_dir: Path) -> None:
    e = engine(research_dir)
    published = cells(e.release(BY_SCHOOL, "alice"))
    truth = exact(e, BY_SCHOOL)
    assert published.keys() == truth.keys()
    ptable = e.ptable
    noise = [published[k] - truth[k] for k in truth]
    assert all(abs(v) <= ptable.max_noise for v in noise)
    assert any(v != 0 for v in noise)  # the table is perturbed, not exact
    assert not any(1 <= v <= ptable.small for v in published.values())
    # margins are cells with their own keys: they are not the sums of the perturbed cells
    margins = [k for k in truth if None in k]
    assert margins and all(abs(published[k] - truth[k]) <= ptable.max_noise for k in margins)


def test_a_cell_asked_in_another_query_gets_the_same_noise(research_dir: Path) -> None:
    e = engine(research_dir)
    by_school = QuerySpec.model_validate(
        {
            "table": "student_terms",
            "group_by": ["school_code"],
            "mode": "ckm",
            "measures": [{"kind": "count_students"}],
        }
    )
    margins = {
        k[0]: v
        for k, v in cells(e.release(BY_SCHOOL, "alice")).items()
        if k[1] is None and k[0] is not None
    }
    alone = {
        c.keys["school_code"]: c.values["count_students"]
        for c in e.release(by_school, "alice").cells
    }
    assert alone == margins


def test_the_perturbation_table_follows_its_rule_and_is_published() -> None:
    ptable = build_ptable(3, 2.0, 2)
    for row in ptable.rows:
        assert sum(e.probability for e in row) == pytest.approx(1)
        assert sum(e.probability * e.noise for e in row) == pytest.approx(0, abs=1e-9)
        assert row[0].lower == 0 and row[-1].upper == 1
        count = row[0].count
        assert all(count + e.noise == 0 or count + e.noise > 2 for e in row)
    assert [(e.noise, e.probability) for e in ptable.rows[0]] == [(0, 1.0)]
    last = ptable.rows[-1]
    assert [e.noise for e in last] == list(range(-3, 4))
    assert sum(e.probability * e.noise**2 for e in last) == pytest.approx(2.0, rel=0.15)
    assert ptable.noise(1, 0.0) == -1 and ptable.noise(1, 0.999) == 3
    assert (POLICIES / "ptable_counts.csv").read_text() == ptable_csv(ptable)


def test_record_keys_are_keyed_fixed_and_spread(tmp_path: Path) -> None:
    secret = load_cell_key_secret(tmp_path / "cell_key.secret")
    assert load_cell_key_secret(tmp_path / "cell_key.secret") == secret
    assert (tmp_path / "cell_key.secret").stat().st_mode & 0o777 == 0o600
    pids = pl.Series(range(10_000))
    keys = record_keys(pids, secret)
    assert keys.equals(record_keys(pids, secret))
    assert not keys.equals(record_keys(pids, bytes(32)))
    assert keys.n_unique() > 9_990
    assert 0.45 < keys.cast(pl.Float64).mean() / 2**32 < 0.55  # type: ignore[operator]


def test_ckm_is_for_the_tables_the_policy_names(research_dir: Path) -> None:
    e = engine(research_dir)
    exposure = QuerySpec.model_validate(
        {"table": "exposure", "mode": "ckm", "measures": [{"kind": "count_students"}]}
    )
    with pytest.raises(QueryRefused) as refused:
        e.release(exposure, "alice")
    assert str(refused.value) == (
        "exposure is not released under the cell-key method (the policy allows "
        "student_terms, student_months, student_profiles); ask in sdc or dp mode"
    )


def test_a_ckm_spec_counts_pupils_only() -> None:
    with pytest.raises(ValidationError, match="its measure is count_students"):
        QuerySpec.model_validate(
            {
                "table": "student_terms",
                "mode": "ckm",
                "measures": [{"kind": "mean", "column": "lessons"}],
            }
        )
    with pytest.raises(ValidationError, match="rho is for dp queries only"):
        QuerySpec.model_validate(
            {
                "table": "student_terms",
                "mode": "ckm",
                "rho": 0.1,
                "measures": [{"kind": "count_students"}],
            }
        )


def test_ckm_is_a_regime_of_its_own(research_dir: Path) -> None:
    e = Releaser(research_dir, store=MemoryStore())
    e.release(BY_SCHOOL, "alice", project="p")
    sdc = QuerySpec.model_validate({**BY_SCHOOL.model_dump(), "mode": "sdc"})
    with pytest.raises(QueryRefused, match="already received student_terms under ckm"):
        e.release(sdc, "alice", project="p")


def test_a_ckm_preview_lists_cells_without_values(research_dir: Path) -> None:
    preview = engine(research_dir).preview(BY_SCHOOL, project="p")
    assert preview.mode == "ckm" and preview.cells
    assert all(c.values == {} for c in preview.cells)


def test_the_secret_is_refused_inside_the_data_directory(tmp_path: Path) -> None:
    """Whoever holds the secret can take the perturbation off: it is kept like the other keys,
    never beside the data."""
    data = tmp_path / "data"
    data.mkdir()
    with pytest.raises(Exception, match=r"cell-key secret .* is in the folder"):
        load_cell_key_secret(data / "cell-key.secret", data_dir=data)
    assert not (data / "cell-key.secret").exists()
    assert len(load_cell_key_secret(tmp_path / "keys" / "cell-key.secret", data_dir=data)) == 32
