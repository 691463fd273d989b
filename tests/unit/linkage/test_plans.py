"""Compiled build plans (``linkage._plans``): the kept plans are the running code's, a full
DuckDB build runs its plan without Ibis and writes what compiling the expressions writes, and
any build a plan does not fit compiles instead."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from linkage import _plans as linkage_plans
from linkage import (
    build_research_tables,
    current_snapshot,
    ingest_extract,
    read_manifest,
    table_files,
)
from linkage._build import ALL_TABLES, RESEARCH, TABLES
from linkage._canonical import SCHEMAS
from linkage._incremental import SCOPE_TABLES
from linkage._plans import (
    PLANS,
    SOURCES,
    VARIANTS,
    CompiledPlan,
    code_key,
    compile_plan,
    find_plan,
    save_plan,
    table_schemas,
    variant,
)
from linkage.research import snapshot_files
from linkage.sources.synthetic import SynthConfig
from tests.research_data import research_dir
from tests.weekly_data import Deliveries, assert_same_tables, ingest_registers, make_deliveries
from tests.weekly_data import research_tables as weekly_tables

__all__ = ["research_dir"]

REPO = Path(__file__).resolve().parents[3]


def _copy(research_dir: Path, tmp_path: Path) -> Path:
    """A data directory of ``research_dir``'s canonical snapshots, not yet built."""
    data = tmp_path / "data"
    shutil.copytree(research_dir / "snapshots", data / "snapshots")
    (data / "CURRENT").write_text((research_dir / "CURRENT").read_text())
    return data


def _weekly(
    tmp_path: Path, seed: int, students: int, *, student_lessons: bool = False
) -> tuple[Path, Deliveries]:
    """A data directory of a municipality of six weeks, the last two delivered weekly: the
    extract and the registers ingested and built; and the source (``_deliver``)."""
    source = make_deliveries(
        SynthConfig(students=students, seed=seed, weeks=6, deliveries=2), tmp_path
    )
    data = tmp_path / "data"
    ingest_extract(source.extract, data, key_file=source.key)
    ingest_registers(source, data)
    build_research_tables(data, student_lessons=student_lessons)
    return data, source


def _deliver(data: Path, source: Deliveries) -> None:
    """Week 5 ingested onto ``data`` as a weekly delivery."""
    ingest_extract(source.extract, data, key_file=source.key, updates=[source.week5], delivery=True)


def _probe(data: Path, *, incremental: bool = False) -> str:
    """In a process of its own: a build of ``data``, the first word of the plan it ran, its
    months and terms, and which of Ibis, pandas and SQLGlot it loaded."""
    probe = (
        "import sys; from pathlib import Path; from linkage import build_research_tables; "
        f"r = build_research_tables(Path({str(data)!r}), incremental={incremental}); "
        "print((r.compiled_plan or 'none').split()[0], (r.incremental or {}).get('months'), "
        "(r.incremental or {}).get('terms'), "
        "sorted(m for m in ('ibis', 'pandas', 'sqlglot') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def _tables(data: Path, names: tuple[str, ...] = TABLES) -> dict[str, pl.DataFrame]:
    snapshot = current_snapshot(data / RESEARCH)
    return {n: pl.read_parquet(table_files(snapshot, n)).sort(pl.all()) for n in names}


def test_the_kept_plans_are_the_running_codes() -> None:
    """The plans compile, in a process of their own, to the files kept (else: run
    ``scripts/compile_plans.py``)."""
    out = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "compile_plans.py"), "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize("name", VARIANTS)
def test_a_plan_writes_every_table_then_the_period(name: str) -> None:
    plan = CompiledPlan.from_json((PLANS / f"{name}.json").read_text(encoding="utf-8"))
    assert plan.key == code_key()
    assert {s.kind for s in plan.steps} == {"view", "run", "write"}
    written = [s.name for s in plan.steps if s.kind == "write"]
    built = [n for n in ALL_TABLES if name.endswith("lessons") or n != "student_lessons"]
    # an incremental build writes each table in two parts: the rows of the periods it does not
    # recompute, out of the parts it cannot share, and the rows it recomputes
    parts = 2 if name.startswith("incremental") else 1
    assert sorted(written) == sorted([*built * parts, "period"]) and written[-1] == "period"
    views = {s.name for s in plan.steps if s.kind == "view"}
    expected = {*(f"canonical_{n}" for n in SCHEMAS), *(f"research_{n}" for n in built)}
    if name.startswith("incremental"):  # the snapshot added to, and the months recomputed
        expected |= {f"previous_{n}" for n in built} | {f"scope_{n}" for n in SCOPE_TABLES}
    assert views == expected
    # no month, term or path is in a statement: the same plan serves every week
    text = "\n".join(q for step in plan.steps for q in step.sql)
    assert "0001-01" not in text and "0001HT" not in text and "medler-plan-" not in text


def test_the_key_changes_with_every_module_that_decides_a_statement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here, running = Path(linkage_plans.__file__).parent, code_key()
    for source in SOURCES:
        (tmp_path / source).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(here / source, tmp_path / source)
    monkeypatch.setattr("linkage._plans._HERE", tmp_path)
    key = code_key()
    assert key == running  # the same text gives the same key, wherever it is
    for source in SOURCES:
        path = tmp_path / source
        text = path.read_bytes()
        path.write_bytes(text + b"\n# changed\n")
        assert code_key() != key, source
        path.write_bytes(text.replace(b"\n", b"\r\n"))  # line endings alone change nothing
        assert code_key() == key, source
        path.write_bytes(text)


def test_every_module_a_compile_loads_is_in_the_key_or_decides_no_statement() -> None:
    """A module of medler's that the build loads while it compiles either is one of the
    plan's ``SOURCES`` or is known not to decide a statement; a new one must be judged (and,
    if it builds expressions, added to ``SOURCES``)."""
    probe = (
        "import sys; from linkage._plans import compile_plan; compile_plan('incremental'); "
        "print('\\n'.join(sorted(n for n in sys.modules "
        "if n.split('.')[0] in ('linkage', 'medler', 'pseudonymise', 'release', 'api'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    decides_none = {
        "linkage",  # package: lazy names
        "linkage._basis",  # lessons or classes: whether a plan may run at all
        "linkage._plans",  # in SOURCES too
        "linkage._snapshot",  # snapshot files
        "medler",
        "medler._lazy",
        "medler._version",
        "medler.errors",
    }
    in_key = {"linkage." + s.removesuffix(".py").replace("/", ".") for s in SOURCES}
    in_key = {n.removesuffix(".__init__") for n in in_key}
    loaded = set(out.stdout.split())
    assert loaded - in_key - decides_none == set()


def test_a_full_build_runs_its_plan_and_writes_what_the_expressions_write(
    research_dir: Path, tmp_path: Path
) -> None:
    data = _copy(research_dir, tmp_path)
    compiled = build_research_tables(data, compiled=False)
    assert compiled.compiled_plan is None and compiled.steps
    # the statements compiled on these data are those compiled on an empty snapshot
    assert compiled.steps == compile_plan("full").steps
    by_expressions = _tables(data)
    ran = build_research_tables(data)
    assert ran.compiled_plan is not None and ran.compiled_plan.startswith("full ")
    assert ran.steps == ()  # nothing compiled, so nothing recorded
    assert ran.rows == compiled.rows
    assert read_manifest(current_snapshot(data / RESEARCH))["compiled_plan"] == ran.compiled_plan
    by_plan = _tables(data)
    for name in TABLES:
        assert by_plan[name].equals(by_expressions[name]), name
    period = [read_manifest(s)["period"] for s in sorted((data / RESEARCH / "snapshots").iterdir())]
    assert period[0] == period[1] and period[0]["first_day"]


def test_student_lessons_has_a_plan_of_its_own(research_dir: Path, tmp_path: Path) -> None:
    data = _copy(research_dir, tmp_path)
    ran = build_research_tables(data, student_lessons=True)
    assert ran.compiled_plan is not None and ran.compiled_plan.startswith(variant(False, True))
    assert ran.rows["student_lessons"] > 0
    by_plan = _tables(data, ("student_lessons",))["student_lessons"]
    build_research_tables(data, student_lessons=True, compiled=False)
    assert _tables(data, ("student_lessons",))["student_lessons"].equals(by_plan)


def test_a_build_that_runs_its_plan_loads_no_ibis(research_dir: Path, tmp_path: Path) -> None:
    assert _probe(_copy(research_dir, tmp_path)) == "full None None []"


def test_a_stale_plan_is_not_run(
    research_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Code changed since the plan was compiled: the build compiles its expressions."""
    monkeypatch.setattr("linkage._plans.code_key", lambda: "0" * 64)
    data = _copy(research_dir, tmp_path)
    report = build_research_tables(data)
    assert report.compiled_plan is None and report.steps
    assert read_manifest(current_snapshot(data / RESEARCH))["compiled_plan"] is None


def test_a_plan_is_run_only_on_the_schemas_it_was_compiled_against(
    research_dir: Path, tmp_path: Path
) -> None:
    data = _copy(research_dir, tmp_path)
    files = snapshot_files(current_snapshot(data))
    assert find_plan("full", files) is not None
    # a snapshot whose grades carry one more column (written by another version, say)
    (grades,) = files["grades"]
    table = pq.read_table(grades)
    other = tmp_path / "grades.parquet"
    pq.write_table(table.append_column("extra", pa.nulls(table.num_rows, pa.string())), other)
    assert find_plan("full", {**files, "grades": [other]}) is None
    # a snapshot without one of the tables
    assert find_plan("full", {n: p for n, p in files.items() if n != "grades"}) is None
    assert table_schemas(files) != table_schemas({**files, "grades": [other]})


def test_a_damaged_plan_file_is_not_run(
    research_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = snapshot_files(current_snapshot(research_dir))
    folder = tmp_path / "plans"
    monkeypatch.setattr("linkage._plans.PLANS", folder)
    assert find_plan("full", files) is None  # none kept
    folder.mkdir()
    (folder / "full.json").write_text("{not json", encoding="utf-8")
    assert find_plan("full", files) is None
    (folder / "full.json").write_text(json.dumps({"format": 1}), encoding="utf-8")
    assert find_plan("full", files) is None
    kept = CompiledPlan.from_json((PLANS / "full.json").read_text(encoding="utf-8"))
    save_plan(kept, "full", folder)
    assert find_plan("full", files) == kept


def test_an_incremental_build_runs_its_plan_and_writes_what_the_expressions_write(
    tmp_path: Path,
) -> None:
    """A week delivered onto a built data directory: the incremental build runs its plan
    (no month is in a statement) and writes what compiling the expressions writes."""
    data, source = _weekly(tmp_path, 8, 200, student_lessons=True)
    _deliver(data, source)
    research = data / RESEARCH
    before = (research / "CURRENT").read_text(encoding="utf-8")
    compiled = build_research_tables(data, incremental=True, student_lessons=True, compiled=False)
    assert compiled.compiled_plan is None and compiled.incremental is not None
    assert compiled.incremental.get("months")  # an incremental build, not a full one
    # the statements compiled on these data (a real week) are the empty snapshot's
    assert compiled.steps == compile_plan("incremental-with-student-lessons").steps
    by_expressions = weekly_tables(data)
    (research / "CURRENT").write_text(before, encoding="utf-8")  # the same week, again
    ran = build_research_tables(data, incremental=True, student_lessons=True)
    assert ran.compiled_plan is not None
    assert ran.compiled_plan.startswith("incremental-with-student-lessons ")
    assert ran.incremental == compiled.incremental and ran.rows == compiled.rows
    assert_same_tables(weekly_tables(data), by_expressions)


def test_an_incremental_build_without_student_lessons_runs_its_plan_after_one_with(
    tmp_path: Path,
) -> None:
    """The research snapshot added to holds ``student_lessons`` (built with it), the
    incremental build does not ask for it: only the tables it writes are read from the
    snapshot added to, so its plan still fits."""
    data, source = _weekly(tmp_path, 3, 120, student_lessons=True)
    _deliver(data, source)
    ran = build_research_tables(data, incremental=True)
    assert ran.incremental is not None and ran.incremental.get("months")
    assert ran.compiled_plan is not None and ran.compiled_plan.startswith("incremental ")
    assert "student_lessons" not in ran.rows


def test_an_incremental_build_with_nothing_delivered_keeps_every_row(tmp_path: Path) -> None:
    """No delivery since the research tables were built: the incremental build runs its plan
    on empty months and terms, recomputes nothing and keeps every row; and it loads no Ibis."""
    data, _source = _weekly(tmp_path, 4, 120)
    before = _tables(data)
    assert _probe(data, incremental=True) == "incremental [] [] []"
    after = _tables(data)
    for name in TABLES:
        assert after[name].equals(before[name]), name
