"""``medler demo``: the whole story on embedded defaults, as far as it is built.

Steps 1–5 are ``linkage.prepare_municipality``, told to the reader as they run.

1. A synthetic municipality: the stand-in for a school system, written beside the data
   directory (in ``medler-demo-source/``), never inside it: it holds raw identity numbers.
2. A demo key in the same folder (a real service keeps its key offline, see docs/how-to).
3. Ingest the extract: a pseudonymised snapshot in the data directory.
4. Ingest the teacher and student registers.
5. Build the research tables.
6. Register a research project (one person of the statistics office registers it, another
   approves it), a researcher and a data protection officer.
7. Release two tables for the researcher: pupils per grade under disclosure control, with
   margins; and, with differential privacy, the share of pupils' teaching minutes with a
   certified teacher per school, charged to the privacy-budget ledger before its noise is
   drawn.
8. A request outside the project's approval is held; the DPO approves it with a reason.
9. Show the ledger and verify the audit log.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress, TaskID

from api.cli._build import print_build_report
from api.cli._console import stdout_console
from api.cli._control import control_plane
from api.cli._control import show as show_ledger
from api.cli._control import verify as verify_command
from api.cli._ingest import print_ingest_report, reading_spinner
from api.cli._release import print_outcome
from api.cli._synth import progress_bar, summary_table
from linkage import PrepareHooks, PrepareStep, prepare_municipality
from linkage.sources.synthetic import SynthConfig
from release import QuerySpec, Releaser, ReleaseService
from release.governance import (
    DATASET,
    Governance,
    Ledger,
    NotFound,
    Office,
    Principal,
    anchor_path,
    raise_cap,
    set_up_office,
)

SOURCE_FOLDER = "medler-demo-source"
DEMO_RELEASES = [
    (
        "Pupils per grade, disclosure-controlled, with margins:",
        QuerySpec.model_validate(
            {
                "table": "student_terms",
                "group_by": ["grade"],
                "mode": "sdc",
                "margins": True,
                "measures": [
                    {"kind": "count_students"},
                    {"kind": "share", "column": "persistent_absence"},
                ],
            }
        ),
    ),
    (
        "Certified teaching per school, differentially private (rho 0.1):",
        QuerySpec.model_validate(
            {
                "table": "exposure",
                "group_by": ["school_code"],
                "mode": "dp",
                "rho": 0.1,
                "measures": [
                    {"kind": "count_students"},
                    {"kind": "mean", "column": "certified_share"},
                ],
            }
        ),
    ),
]
HELD = QuerySpec.model_validate(
    {
        "table": "student_months",
        "group_by": ["month"],
        "mode": "sdc",
        "measures": [{"kind": "count_students"}, {"kind": "sum", "column": "absent_minutes"}],
    }
)


def _person(gov: Governance, office: Office, person: str, name: str) -> Principal:
    try:
        return gov.person(person)
    except NotFound:
        gov.add_person(
            office.registrar, person, role="researcher", name=name, organisation="Demo University"
        )
        return gov.person(person)


def _project(gov: Governance, releaser: Releaser) -> tuple[str, Principal, Principal]:
    """A fresh approved project (and budget) per demo run, a researcher and a DPO. The
    office's people are registered under the two-person rules: a second statistician
    confirms the first's proposals."""
    office = set_up_office(gov, "office", "Demo University")
    project = f"demo-{releaser.snapshot.name}".lower()
    spent = {t.scope: t.spent for t in Ledger(gov.engine).totals()}.get(DATASET, 0.0)
    raise_cap(gov, office, DATASET.key, spent + 1.0)
    today = dt.datetime.now(dt.UTC).date()
    gov.create_project(
        office.registrar,
        project,
        purpose="How teacher certification and absence vary between schools (demo)",
        legal_basis="Official statistics (demo)",
        organisation="Demo University",
        valid_from=today,
        valid_to=today + dt.timedelta(days=365),
        tables={"student_terms": ["*"], "exposure": ["*"]},
    )
    gov.approve_project(office.approver, project, rho=1.0)
    researcher = _person(gov, office, "demo-researcher", "Demo Researcher")
    gov.add_member(office.registrar, project, researcher.id, rho=1.0)
    return project, researcher, office.dpo


class _Narrator:
    """Tells the reader steps 1–5 as ``prepare_municipality`` runs them: a heading as each
    starts, a progress display while it runs, its report when it is done."""

    def __init__(self, *, config: SynthConfig, extract: Path, key_file: Path, data_dir: Path):
        self.config, self.extract, self.key_file, self.data_dir = (
            config,
            extract,
            key_file,
            data_dir,
        )
        self.console = stdout_console()
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def hooks(self) -> PrepareHooks:
        return PrepareHooks(
            before=self.before,
            after=self.after,
            synth_progress=self.synth_progress,
            ingest_progress=self.ingest_progress,
        )

    def before(self, step: PrepareStep) -> None:
        c, console = self.config, self.console
        if step is PrepareStep.SYNTH:
            console.print(
                f"[bold]1. A synthetic municipality[/bold] ({c.students} pupils, {c.weeks} "
                f"teaching weeks, seed {c.seed}), standing in for the school system, in "
                f"{self.extract}"
            )
            self._start(progress_bar(Console(stderr=True)), "lessons and attendance")
        elif step is PrepareStep.KEY:
            console.print(f"\n[bold]2. The pseudonymisation key[/bold]: {self.key_file}")
        elif step is PrepareStep.INGEST:
            console.print(f"\n[bold]3. Ingest the SS 12000 extract[/bold] into {self.data_dir}")
            self._start(reading_spinner(), "reading")
        elif step is PrepareStep.REGISTERS:
            console.print("\n[bold]4. Add the teacher and student registers[/bold]")
        else:
            console.print("\n[bold]5. Build the research tables[/bold]")

    def after(self, step: PrepareStep, result: Any) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = self._task = None
        if step is PrepareStep.SYNTH:
            self.console.print(summary_table(result))
        elif step is PrepareStep.KEY and result is None:
            self.console.print("   (the demo key from an earlier run)")
        elif step is PrepareStep.KEY:
            self.console.print(
                f"   created key {result.key_id}, version {result.version} (a demo key: a real "
                "service keeps its key offline, outside the data directory)"
            )
        elif step is PrepareStep.INGEST:
            print_ingest_report(result, self.data_dir)
        elif step is PrepareStep.REGISTERS:
            for report in result:
                print_ingest_report(report, self.data_dir)
        else:
            print_build_report(result, self.data_dir)

    def synth_progress(self, done: int, total: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=done, total=total)

    def ingest_progress(self, resource: str, records: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=f"{resource}: {records:,} records read")

    def _start(self, progress: Progress, description: str) -> None:
        self._progress = progress
        self._task = progress.add_task(description, total=None)
        progress.start()


def run_demo(*, data_dir: Path, students: int, weeks: int, seed: int) -> None:
    source = data_dir.resolve().parent / SOURCE_FOLDER
    extract = source / "extract"
    key_file = source / "demo-key.json"
    console = stdout_console()
    config = SynthConfig(students=students, seed=seed, weeks=weeks)
    narrator = _Narrator(config=config, extract=extract, key_file=key_file, data_dir=data_dir)
    prepare_municipality(
        config, source, data_dir, key_file=key_file, overwrite=True, hooks=narrator.hooks()
    )

    console.print(
        "\n[bold]6. A research project[/bold], registered and approved by two people "
        "of the statistics office"
    )
    fresh = not (data_dir / "control.db").exists()
    control = control_plane(data_dir)
    if fresh:  # a new control plane: anchors of an earlier demo's log describe a log now gone
        anchor_path(control).unlink(missing_ok=True)
    gov = Governance(control)
    releaser = Releaser(data_dir, control=control)
    service = ReleaseService(releaser, gov)
    project, researcher, dpo = _project(gov, releaser)
    console.print(
        f"Project {project}: approved for student_terms and exposure, budget ρ 1; "
        f"researcher {researcher.id}; data protection officer {dpo.id}"
    )

    console.print("\n[bold]7. Release aggregates[/bold] (the only way anything leaves medler)")
    for title, spec in DEMO_RELEASES:
        console.print(f"\n{title}")
        print_outcome(service.submit(researcher, project, spec), spec, console)

    console.print(
        "\n[bold]8. A held request[/bold]: absence per month, from student_months, "
        "which the project is not approved for"
    )
    held = service.submit(researcher, project, HELD)
    print_outcome(held, HELD, console)
    assert held.request_id is not None
    reviewed = service.review(
        dpo,
        held.request_id,
        approve=True,
        reason="Monthly absence counts serve the project's purpose; no new person is described",
    )
    console.print(
        f"The DPO approved it with a reason: request {reviewed.id} is "
        f"{reviewed.status} as {reviewed.release_id}."
    )

    console.print("\n[bold]9. The ledger and the audit log[/bold] (what the DPO reviews)")
    show_ledger(data_dir)
    verify_command(data_dir)
    console.print(
        f"\nThe data directory {data_dir} now holds only pseudonymised tables; the raw extract "
        f"stays in {source}."
    )
