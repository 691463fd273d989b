"""``medler publish``: the official tables, released through the release service as a member
of an official-statistics project and written as CSV, Parquet, plots and a report.

One publication of the standard indicator set is made once for the module (reading it is all
most tests do); the tests of refusals and of publishing twice make their own."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from api.cli import run
from release._publish import load_indicators
from release.governance import Ledger
from release.governance._models import AuditRecord, Request
from tests.research_data import research_dir

__all__ = ["research_dir"]

PROJECT = "official-2027"
TABLES = ("student_terms", "student_months", "exposure", "teacher_terms", "student_profiles")


@dataclass(frozen=True)
class Office:
    """A data directory with a control plane: an approved official-statistics project and its
    member olle (a person of the office registered to publish), everyone with a token."""

    folder: Path
    data: Path
    control_url: str

    def options(self, who: str = "olle") -> list[str]:
        return ["--data-dir", str(self.data), "--token-file", str(self.folder / f"{who}.token")]

    def publish(self, out: Path, *more: str) -> int:
        return run(["publish", "--project", PROJECT, "--out", str(out), *self.options(), *more])

    def audit(self) -> list[AuditRecord]:
        engine = create_engine(self.control_url)
        try:
            with Session(engine) as session:
                return list(session.scalars(select(AuditRecord).order_by(AuditRecord.seq)))
        finally:
            engine.dispose()

    def ledger_spent(self) -> dict[str, float]:
        engine = create_engine(self.control_url)
        try:
            return {t.scope.key: t.spent for t in Ledger(engine).totals()}
        finally:
            engine.dispose()

    def requests(self) -> list[tuple[int, str]]:
        engine = create_engine(self.control_url)
        try:
            with Session(engine) as session:
                return [(r.id, r.status) for r in session.scalars(select(Request))]
        finally:
            engine.dispose()


def _office(research: Path, folder: Path, regimes: dict[str, str]) -> Office:
    """Register the office's people and the project (by one statistician, approved by another)
    on a copy of the research data without its release store, in ``folder``."""
    data = folder / "data"
    shutil.copytree(
        research, data, ignore=lambda at, _: ["release"] if Path(at) == research else []
    )
    office = Office(folder, data, f"sqlite:///{folder / 'control.db'}")
    on = ["--data-dir", str(data)]

    def step(*args: str) -> None:
        assert run([*args, *on]) == 0, args

    def token(who: str, by: str) -> None:
        step(
            "token",
            "issue",
            who,
            "--token-out",
            str(folder / f"{who}.token"),
            "--token-file",
            str(folder / f"{by}.token"),
        )

    def as_(who: str) -> list[str]:
        return ["--token-file", str(folder / f"{who}.token")]

    step(
        "admin",
        "init",
        "root",
        "--name",
        "Root",
        "--organisation",
        "Office",
        "--token-out",
        str(folder / "root.token"),
    )
    step(
        "person",
        "add",
        "anna",
        "--role",
        "statistician",
        "--name",
        "Anna",
        "--organisation",
        "Office",
        *as_("root"),
    )
    token("anna", by="root")
    step(
        "person",
        "add",
        "bertil",
        "--role",
        "statistician",
        "--name",
        "Bertil",
        "--organisation",
        "Office",
        *as_("root"),
    )
    step("proposal", "confirm", "1", *as_("anna"))
    token("bertil", by="root")
    step("ledger", "set-cap", "dataset", "1", *as_("anna"))
    step("proposal", "confirm", "2", *as_("bertil"))
    tables = [a for t in regimes for a in ("--table", t)]
    modes = [a for t, m in regimes.items() for a in ("--regime", f"{t}={m}")]
    step(
        "project",
        "create",
        PROJECT,
        "--purpose",
        "Official statistics",
        "--legal-basis",
        "Official Statistics Act",
        "--organisation",
        "Office",
        "--from",
        "2020-01-01",
        "--to",
        "2099-12-31",
        *tables,
        *modes,
        *as_("anna"),
    )
    step("project", "approve", PROJECT, "--rho", "0.5", *as_("bertil"))
    step(
        "researcher",
        "add",
        "olle",
        "--name",
        "Olle",
        "--organisation",
        "Office",
        "--project",
        PROJECT,
        "--rho",
        "0.5",
        *as_("anna"),
    )
    token("olle", by="anna")
    return office


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDLER_TOKEN", raising=False)
    monkeypatch.delenv("MEDLER_TOKEN_FILE", raising=False)


@dataclass(frozen=True)
class Publication:
    office: Office
    out: Path
    code: int


@pytest.fixture(scope="module")
def published(
    research_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Publication]:
    folder = tmp_path_factory.mktemp("publish")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEDLER_CONTROL_URL", f"sqlite:///{folder / 'control.db'}")
        mp.delenv("MEDLER_TOKEN", raising=False)
        mp.delenv("MEDLER_TOKEN_FILE", raising=False)
        office = _office(research_dir, folder, dict.fromkeys(TABLES[:4], "sdc"))
        out = folder / "official"
        code = office.publish(out)
        yield Publication(office, out, code)


def _research(office: Office, table: str) -> pl.DataFrame:
    current = (office.data / "research" / "CURRENT").read_text(encoding="utf-8").strip()
    return pl.read_parquet(office.data / "research" / "snapshots" / current / f"{table}.parquet")


def _released(out: Path, name: str) -> pl.DataFrame:
    return pl.read_csv(out / f"{name}.csv", infer_schema_length=None).filter(
        pl.col("status") == "released"
    )


# --- the standard set -------------------------------------------------------------------------


def test_every_indicator_is_written_with_its_plot_and_the_report(published: Publication) -> None:
    assert published.code == 0
    out = published.out
    manifest = json.loads((out / "publication.json").read_text(encoding="utf-8"))
    names = [i.name for i in load_indicators().indicators]
    assert [t["name"] for t in manifest["tables"]] == names
    assert {t["status"] for t in manifest["tables"]} == {"released"}
    report = (out / "report.md").read_text(encoding="utf-8")
    for name in names:
        for suffix in (".csv", ".parquet"):
            assert (out / f"{name}{suffix}").stat().st_size > 0
        assert (out / "plots" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "![" in report and f"(plots/{name}.png)" in report
        assert (
            pl.read_parquet(out / f"{name}.parquet").height
            == pl.read_csv(out / f"{name}.csv").height
        )
    assert "Disclosure control: a cell of fewer than 10 pupils is suppressed" in report
    assert "Disclosure control: a cell of fewer than 10 teachers is suppressed" in report
    assert "10 of 10 tables" in report
    assert not list(out.rglob("*.partial"))


def test_released_values_are_those_of_the_research_table(published: Publication) -> None:
    """Every released cell equals a direct computation on the research table: counts, both
    absence means, the shares and the minute-weighted certified share."""
    terms = _research(published.office, "student_terms")
    expected = terms.group_by("grade", "term").agg(
        pl.col("student_pid").n_unique().alias("n"),
        pl.col("absence_rate_reported").clip(0, 1).mean().alias("reported"),
        pl.col("absence_rate_planned").clip(0, 1).mean().alias("planned"),
        pl.col("many_days_absent").fill_null(False).mean().alias("many"),
    )
    got = (
        _released(published.out, "absence_by_grade")
        .join(_released(published.out, "many_days_absent"), on=["grade", "term"])
        .join(expected, on=["grade", "term"])
    )
    assert got.height == expected.height > 5  # every grade released, none lost
    assert (got["count_students"] == got["n"]).all()
    for column, direct in (
        ("mean_absence_rate_reported", "reported"),
        ("mean_absence_rate_planned", "planned"),
        ("share_many_days_absent", "many"),
    ):
        assert (got[column] - got[direct]).abs().max() < 1e-9, column

    by_sex = _released(published.out, "absence_by_sex")
    direct_sex = terms.group_by("sex", "term").agg(pl.len().alias("n"))
    assert set(by_sex["sex"]) <= {"Kvinna", "Man", "Okänt"} and by_sex.height >= 2
    joined = by_sex.join(direct_sex, on=["sex", "term"])
    assert (joined["count_students"] == joined["n"]).all()

    exposure = _research(published.office, "exposure")
    certified = exposure.group_by("subject_code", "grade_band").agg(
        (pl.col("certified_minutes").sum() / pl.col("minutes").sum()).alias("direct")
    )
    cells = _released(published.out, "certified_share").join(
        certified, on=["subject_code", "grade_band"]
    )
    assert cells.height > 10
    assert (cells["ratio_certified_minutes_minutes"] - cells["direct"]).abs().max() < 1e-9


def test_absence_by_organiser_type_is_that_of_the_research_table(
    published: Publication,
) -> None:
    """The synthetic municipality has municipal schools and one independent (aktiebolag)
    school: both kinds are released, each cell equal to a direct computation."""
    terms = _research(published.office, "student_terms")
    expected = terms.group_by("organiser_type", "term").agg(
        pl.col("student_pid").n_unique().alias("n"),
        pl.col("absence_rate_reported").clip(0, 1).mean().alias("reported"),
        pl.col("absence_rate_planned").clip(0, 1).mean().alias("planned"),
    )
    table = pl.read_csv(published.out / "absence_by_organiser_type.csv")
    assert set(table["organiser_type"]) <= {
        "municipal",
        "independent",
        "regional",
        "state",
        "unknown",
    }
    got = _released(published.out, "absence_by_organiser_type").join(
        expected, on=["organiser_type", "term"]
    )
    assert set(got["organiser_type"]) == {"municipal", "independent"}
    assert got.height == expected.height
    assert (got["count_students"] == got["n"]).all()
    for column, direct in (
        ("mean_absence_rate_reported", "reported"),
        ("mean_absence_rate_planned", "planned"),
    ):
        assert (got[column] - got[direct]).abs().max() < 1e-9, column
    report = (published.out / "report.md").read_text(encoding="utf-8")
    assert "Absence by organiser type" in report


def test_every_table_has_its_release_in_the_audit_log(published: Publication) -> None:
    manifest = json.loads((published.out / "publication.json").read_text(encoding="utf-8"))
    released = {
        r.body.get("release_id"): r for r in published.office.audit() if r.action == "released"
    }
    for table in manifest["tables"]:
        record = released[table["release_id"]]
        assert record.actor == "olle" and record.project == PROJECT
        assert record.body["spec"]["table"] == next(
            i.spec.table for i in load_indicators().indicators if i.name == table["name"]
        )
    assert run(["audit", "verify", "--data-dir", str(published.office.data)]) == 0


def test_no_pseudonym_leaves_in_any_file(published: Publication) -> None:
    pids: set[str] = set()
    for table, column in (
        ("student_terms", "student_pid"),
        ("teacher_terms", "teacher_pid"),
        ("exposure", "student_pid"),
    ):
        pids |= {str(v) for v in _research(published.office, table)[column].unique().to_list()}
    assert len(pids) > 100
    for path in published.out.rglob("*"):
        if path.is_dir():
            continue
        text = path.read_bytes().decode("latin-1")
        assert "_pid" not in text, path.name
        found = set(re.findall(r"-?\d{6,}", text)) & pids
        assert not found, path.name


# --- refusals, holds and publishing twice -----------------------------------------------------


SPEC_SET = """
version = "test-1"
title = "A test set"

[[indicators]]
name = "by_subject_and_band"
title = "Teachers per pupil by subject and grade band"
[indicators.spec]
table = "exposure"
group_by = ["subject_code", "grade_band"]
measures = [{ kind = "count_students" }, { kind = "mean", column = "teachers" }]

[[indicators]]
name = "outside"
title = "Absence by grade, a table the project is not approved for"
[indicators.spec]
table = "student_terms"
group_by = ["grade"]
measures = [{ kind = "count_students" }, { kind = "mean", column = "absence_rate_reported" }]

[[indicators]]
name = "profiles_dp"
title = "Certified share, differentially private"
[indicators.spec]
table = "student_profiles"
group_by = ["grade_band"]
mode = "dp"
rho = 0.05
measures = [{ kind = "count_students" }, { kind = "mean", column = "certified_share" }]

[[indicators]]
name = "exposure_dp"
title = "Exposure asked in the wrong regime"
[indicators.spec]
table = "exposure"
group_by = ["grade_band"]
mode = "dp"
rho = 0.05
measures = [{ kind = "count_students" }]
"""


@pytest.fixture
def mixed(research_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Office:
    monkeypatch.setenv("MEDLER_CONTROL_URL", f"sqlite:///{tmp_path / 'control.db'}")
    (tmp_path / "set.toml").write_text(SPEC_SET, encoding="utf-8")
    return _office(research_dir, tmp_path, {"exposure": "sdc", "student_profiles": "dp"})


def test_held_and_refused_tables_are_reported_and_the_rest_written(
    mixed: Office, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    (out).mkdir()
    (out / "outside.csv").write_text("stale\n", encoding="utf-8")  # an earlier publication's
    code = mixed.publish(out, "--indicators", str(tmp_path / "set.toml"))
    captured = capsys.readouterr()
    assert code == 3, captured.err
    assert captured.err.strip() == (
        f"error: 2 of 4 official tables were not published: outside (held), exposure_dp "
        f"(refused); {out / 'report.md'} says why. The others are written."
    )
    report = (out / "report.md").read_text(encoding="utf-8")
    assert re.search(
        r"\*\*Not published: held for the data protection officer's review \(request \d+\)"
        r"\*\*: approval: outside the project's approval: project official-2027 is not "
        r"approved for table student_terms\.",
        report,
    )
    assert (
        "**Not published: refused**: project official-2027 receives exposure under sdc only"
    ) in report
    assert (out / "by_subject_and_band.csv").exists() and (out / "profiles_dp.parquet").exists()
    assert not (out / "outside.csv").exists() and not (out / "exposure_dp.csv").exists()
    assert "95 % interval" in report and "Differentially private" in report
    actions = [(r.action, r.body["spec"]["table"]) for r in mixed.audit() if "spec" in r.body]
    assert actions == [
        ("released", "exposure"),
        ("held", "student_terms"),
        ("released", "student_profiles"),
        ("refused", "exposure"),
    ]


def test_publishing_twice_spends_once_and_asks_the_dpo_once(
    mixed: Office, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    indicators = ["--indicators", str(tmp_path / "set.toml")]
    assert mixed.publish(tmp_path / "first", *indicators) == 3
    spent = mixed.ledger_spent()
    assert spent[f"project:{PROJECT}"] == pytest.approx(0.05)
    requests = mixed.requests()
    assert [status for _, status in requests] == ["held"]
    assert mixed.publish(tmp_path / "second", *indicators) == 3
    assert mixed.ledger_spent() == spent
    assert mixed.requests() == requests
    first, second = (
        json.loads((tmp_path / d / "publication.json").read_text(encoding="utf-8"))
        for d in ("first", "second")
    )
    ids = [(t["name"], t["release_id"], t["request_id"]) for t in first["tables"]]
    assert ids == [(t["name"], t["release_id"], t["request_id"]) for t in second["tables"]]
    assert [t["earlier_release"] for t in second["tables"]] == [True, False, True, False]
    for name in ("by_subject_and_band", "profiles_dp"):
        assert (tmp_path / "first" / f"{name}.csv").read_bytes() == (
            tmp_path / "second" / f"{name}.csv"
        ).read_bytes()
    report = (tmp_path / "second" / "report.md").read_text(encoding="utf-8")
    assert "held for the data protection officer since an earlier publication" in report
    capsys.readouterr()
    assert run(["audit", "verify", "--data-dir", str(mixed.data)]) == 0


def test_after_the_dpo_approves_the_held_table_is_published(
    mixed: Office, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    indicators = ["--indicators", str(tmp_path / "set.toml")]
    assert mixed.publish(tmp_path / "first", *indicators) == 3
    ((request, _),) = mixed.requests()
    on = ["--data-dir", str(mixed.data)]
    assert (
        run(
            [
                "person",
                "add",
                "dora",
                "--role",
                "dpo",
                "--name",
                "Dora",
                "--organisation",
                "Office",
                "--token-file",
                str(tmp_path / "root.token"),
                *on,
            ]
        )
        == 0
    )
    assert (
        run(
            [
                "token",
                "issue",
                "dora",
                "--token-out",
                str(tmp_path / "dora.token"),
                "--token-file",
                str(tmp_path / "root.token"),
                *on,
            ]
        )
        == 0
    )
    assert (
        run(
            [
                "review",
                "approve",
                str(request),
                "--reason",
                "absence is in the office's remit",
                "--token-file",
                str(tmp_path / "dora.token"),
                *on,
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert mixed.publish(tmp_path / "second", *indicators) == 3  # exposure_dp stays refused
    second = json.loads((tmp_path / "second" / "publication.json").read_text(encoding="utf-8"))
    table = next(t for t in second["tables"] if t["name"] == "outside")
    assert table["status"] == "released" and table["request_id"] == request
    assert (tmp_path / "second" / "outside.csv").exists()


def test_a_non_member_cannot_publish(
    mixed: Office, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(
        ["publish", "--project", PROJECT, "--out", str(tmp_path / "x"), *mixed.options("anna")]
    )
    assert code == 1
    assert capsys.readouterr().err.strip() == "error: a statistician may not submit a query"
    assert not (tmp_path / "x" / "report.md").exists()


def test_a_bad_indicator_set_names_the_file_indicator_and_field(
    mixed: Office, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        SPEC_SET.replace('{ kind = "mean", column = "teachers" }', '{ kind = "mean" }', 1),
        encoding="utf-8",
    )
    code = mixed.publish(tmp_path / "x", "--indicators", str(bad))
    assert code == 65
    assert capsys.readouterr().err.strip() == (
        f"error: {bad}: indicator 1 (by_subject_and_band): spec.measures.1: mean needs a column"
    )
