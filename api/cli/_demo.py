"""``medler demo``: the whole story on embedded defaults, as far as it is built.

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

from rich.console import Console

from api.cli._console import stdout_console
from api.cli._control import control_plane
from api.cli._control import show as show_ledger
from api.cli._control import verify as verify_command
from api.cli._ingest import _print_report, ingest_with_progress, run_build
from api.cli._release import print_outcome
from api.cli._synth import _generate, _summary_table
from linkage import ingest_register
from linkage.sources.synthetic import SynthConfig
from pseudonymise import create_key_file
from release import QuerySpec, ReleaseEngine, ReleaseService
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


def _project(gov: Governance, engine: ReleaseEngine) -> tuple[str, Principal, Principal]:
    """A fresh approved project (and budget) per demo run, a researcher and a DPO. The
    office's people are registered under the two-person rules: a second statistician
    confirms the first's proposals."""
    office = set_up_office(gov, "office", "Demo University")
    project = f"demo-{engine.snapshot.name}".lower()
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


def run_demo(*, data_dir: Path, students: int, weeks: int, seed: int) -> None:
    source = data_dir.resolve().parent / SOURCE_FOLDER
    extract = source / "extract"
    key_file = source / "demo-key.json"
    console = stdout_console()
    console.print(
        f"[bold]1. A synthetic municipality[/bold] ({students} pupils, {weeks} teaching weeks, "
        f"seed {seed}), standing in for the school system, in {extract}"
    )
    summary = _generate(
        SynthConfig(students=students, seed=seed, weeks=weeks),
        extract,
        overwrite=True,
        console=Console(stderr=True),
    )
    console.print(_summary_table(summary))

    console.print(f"\n[bold]2. The pseudonymisation key[/bold]: {key_file}")
    if key_file.exists():
        console.print("   (the demo key from an earlier run)")
    else:
        key = create_key_file(key_file, data_dir=data_dir)
        console.print(
            f"   created key {key.key_id}, version {key.version} (a demo key: a real "
            "service keeps its key offline, outside the data directory)"
        )

    console.print(f"\n[bold]3. Ingest the SS 12000 extract[/bold] into {data_dir}")
    _print_report(ingest_with_progress(extract / "ss12000", data_dir, key_file=key_file), data_dir)

    console.print("\n[bold]4. Add the teacher and student registers[/bold]")
    for kind, name in (("teachers", "teacher_register.csv"), ("students", "student_register.csv")):
        report = ingest_register(kind, extract / "registers" / name, data_dir, key_file=key_file)
        _print_report(report, data_dir)
    console.print("\n[bold]5. Build the research tables[/bold]")
    run_build(data_dir=data_dir)

    console.print(
        "\n[bold]6. A research project[/bold], registered and approved by two people "
        "of the statistics office"
    )
    fresh = not (data_dir / "control.db").exists()
    control = control_plane(data_dir)
    if fresh:  # a new control plane: anchors of an earlier demo's log describe a log now gone
        anchor_path(control).unlink(missing_ok=True)
    gov = Governance(control)
    engine = ReleaseEngine(data_dir, control=control)
    service = ReleaseService(engine, gov)
    project, researcher, dpo = _project(gov, engine)
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
