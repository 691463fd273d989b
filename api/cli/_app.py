"""The Typer application: one function per command, each a thin call into the layers below."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from api.cli._control import As, audit_app, ledger_app
from api.cli._governance import (
    admin_app,
    person_app,
    project_app,
    proposal_app,
    researcher_app,
    review_app,
    token_app,
)
from api.cli._keys import KeyFileOption, keys_app
from api.cli._register import register_app
from api.cli._retention import retention_app
from api.cli._shred import shred_app
from linkage.sources import SOURCE_FORMATS

app = typer.Typer(
    name="medler",
    help=(
        "medler: privacy-preserving research microdata for school data. Pseudonymised "
        "teacher-student linkage in, aggregate and differentially private results out."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

# Sub-applications (command groups) are registered here, one line each.
app.add_typer(keys_app, name="keys")
keys_app.add_typer(shred_app, name="shred")
app.add_typer(ledger_app, name="ledger")
app.add_typer(audit_app, name="audit")
app.add_typer(project_app, name="project")
app.add_typer(researcher_app, name="researcher")
app.add_typer(person_app, name="person")
app.add_typer(token_app, name="token")
app.add_typer(review_app, name="review")
app.add_typer(proposal_app, name="proposal")
app.add_typer(admin_app, name="admin")
app.add_typer(retention_app, name="retention")
app.add_typer(register_app, name="register")


@app.command()
def synth(
    out: Annotated[
        Path,
        typer.Option("--out", help="Folder to write the extract into (created if missing)."),
    ],
    students: Annotated[
        int,
        typer.Option(help="Number of pupils in the municipality (at least 50)."),
    ] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same bytes.")] = 1,
    weeks: Annotated[
        int | None,
        typer.Option(help="Keep only the first W teaching weeks (default: the whole year)."),
    ] = None,
    school_year: Annotated[
        int, typer.Option(help="The autumn in which the school year starts.")
    ] = 2026,
    workers: Annotated[
        int | None,
        typer.Option(help="Processes to generate lessons with (default: the number of cores)."),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an earlier extract in --out.")] = False,
    deliveries: Annotated[
        int,
        typer.Option(help="Write the last D weeks as weekly deliveries (deliveries/week-NN)."),
    ] = 0,
) -> None:
    """Write a synthetic municipality as SS 12000 v2.1 JSON, with registers and truth.json."""
    from api.cli import _synth  # loaded for this command only

    _synth.run_synth(
        out=out,
        students=students,
        seed=seed,
        weeks=weeks,
        school_year=school_year,
        workers=workers,
        overwrite=overwrite,
        deliveries=deliveries,
    )


DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory (default: $MEDLER_DATA_DIR or ./medler-data)."),
]


def _default_data_dir() -> Path:
    return Path(os.environ.get("MEDLER_DATA_DIR", "medler-data"))


@app.command()
def ingest(
    source_dir: Annotated[Path, typer.Argument(help="The extract's folder.")],
    updates: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Later incremental extracts (SS 12000) or delta sets (OneRoster), oldest first."
        ),
    ] = None,
    data_dir: DataDirOption = None,
    source_format: Annotated[
        str, typer.Option("--format", help=f"{', '.join(SOURCE_FORMATS)} or auto (detect).")
    ] = "auto",
    key_file: KeyFileOption = None,
    source_name: Annotated[
        str | None,
        typer.Option(help="Name of the source system (scopes its local identifiers)."),
    ] = None,
    country: Annotated[
        str, typer.Option(help="Whose national ID numbers the extract holds: SE, NO or DK.")
    ] = "SE",
    unlinkable: Annotated[
        str,
        typer.Option(
            help="A person whose ID cannot be linked: 'local' (a source-local pseudonym) or "
            "'quarantine' (set aside)."
        ),
    ] = "local",
    allow_interim: Annotated[
        bool,
        typer.Option("--allow-interim", help="Link interim (and H-, FH-) numbers too."),
    ] = False,
    no_coordination: Annotated[
        bool,
        typer.Option(
            "--no-coordination", help="Do not link coordination numbers (samordningsnummer, D)."
        ),
    ] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Refuse the ingest (exit 65, nothing written) when a resource is missing or a "
            "whole relation is lost (every teacher link set aside, say): for unattended runs.",
        ),
    ] = False,
    compat: Annotated[
        list[str] | None,
        typer.Option(
            "--compat",
            help="Map a known vendor quirk (repeatable): activity-teachers-as-person. Off by "
            "default; recorded in the snapshot.",
        ),
    ] = None,
    delivery: Annotated[
        bool,
        typer.Option(
            "--delivery",
            help="The last folder is a weekly delivery: add it onto the current snapshot, "
            "sharing every unchanged file (an SS 12000 incremental extract, or a OneRoster "
            "delta set).",
        ),
    ] = False,
) -> None:
    """Ingest an extract into a new pseudonymised snapshot of the canonical tables. The ID
    policy (--country, --unlinkable, --allow-interim, --no-coordination) is recorded in the
    snapshot, and registers added to it later are linked under the same policy. A resource
    missing or a whole relation lost is printed as a WARNING; --strict refuses the ingest
    then. With --delivery, the extract and the deliveries before the last are those the
    current snapshot holds, and only the last is added."""
    from api.cli import _ingest  # loaded for this command only

    policy = _ingest.id_policy(
        country=country,
        unlinkable=unlinkable,
        allow_interim=allow_interim,
        allow_coordination=not no_coordination,
    )
    _ingest.run_ingest(
        source_dir=source_dir,
        updates=updates or [],
        data_dir=data_dir or _default_data_dir(),
        key_file=key_file,
        source_format=source_format,
        source_name=source_name,
        policy=policy,
        compat=compat or [],
        strict=strict,
        delivery=delivery,
    )


@app.command("ingest-register")
def ingest_register(
    kind: Annotated[str, typer.Argument(help="teachers or students.")],
    path: Annotated[Path, typer.Argument(help="The register file (CSV or Parquet).")],
    data_dir: DataDirOption = None,
    key_file: KeyFileOption = None,
) -> None:
    """Add a teacher or student register to the data: a new snapshot with its tables."""
    from api.cli import _ingest  # loaded for this command only

    _ingest.run_ingest_register(
        kind=kind, path=path, data_dir=data_dir or _default_data_dir(), key_file=key_file
    )


@app.command()
def build(
    data_dir: DataDirOption = None,
    memory_limit: Annotated[
        str | None,
        typer.Option(
            "--memory-limit",
            envvar="MEDLER_BUILD_MEMORY",
            help="Memory the build's engine may use before it spills to disk, e.g. 2GB "
            "(default: half the machine's memory, at most 4GB, and less for a small build).",
        ),
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            envvar="MEDLER_BUILD_ENGINE",
            help="duckdb (in process, the default) or spark (needs medler[spark] and Java 17+).",
        ),
    ] = "duckdb",
    spark_master: Annotated[
        str | None,
        typer.Option(
            "--spark-master",
            envvar="MEDLER_SPARK_MASTER",
            help="The Spark master (default local[*]), e.g. spark://host:7077.",
        ),
    ] = None,
    incremental: Annotated[
        bool,
        typer.Option(
            "--incremental",
            help="After weekly deliveries: recompute only the months and terms they touched "
            "(a full build where the data do not allow it, saying why).",
        ),
    ] = False,
    student_lessons: Annotated[
        bool,
        typer.Option(
            "--student-lessons",
            help="Also build student_lessons (one row per pupil and lesson; no other table "
            "needs it).",
        ),
    ] = False,
) -> None:
    """Build the research tables from the current snapshot (a new research snapshot)."""
    from api.cli import _build  # loaded for this command only

    data = data_dir or _default_data_dir()
    report = _build.build_research_tables(
        data,
        memory_limit=memory_limit,
        engine=engine,
        spark_master=spark_master,
        incremental=incremental,
        student_lessons=student_lessons,
    )
    _build.print_build_report(report, data)


@app.command("release")
def release_command(
    spec: Annotated[str, typer.Argument(help="A query spec: a JSON file, or JSON inline.")],
    data_dir: DataDirOption = None,
    preview: Annotated[
        bool, typer.Option("--preview", help="Show accuracy or suppression only; spend nothing.")
    ] = False,
    token_file: As = None,
    project: Annotated[str, typer.Option(help="The approved project the release is for.")] = "",
    justification: Annotated[
        str | None,
        typer.Option(help="Ask for an exception: the request is held for the DPO's review."),
    ] = None,
) -> None:
    """Preview or release a query spec (docs/reference/query-spec.md) as the researcher whose
    token is given, in a project they belong to; a request that fails a reviewable check is
    held for the DPO."""
    from api.cli import _release  # loaded for this command only

    _release.run_release(
        spec_text=spec,
        data_dir=data_dir or _default_data_dir(),
        token_file=token_file,
        project=project,
        preview=preview,
        justification=justification,
    )


@app.command("plan")
def plan_command(
    spec: Annotated[str, typer.Argument(help="A dp query spec: a JSON file, or JSON inline.")],
    persons: Annotated[int, typer.Option(min=1, help="The persons in a typical cell.")],
    half_width: Annotated[float, typer.Option(min=0, help="The 95 % half-width wanted.")],
    measure: Annotated[
        str | None, typer.Option(help="The measure it is for (default: every measure).")
    ] = None,
    data_dir: DataDirOption = None,
    token_file: As = None,
    project: Annotated[str, typer.Option(help="The approved project the question is for.")] = "",
) -> None:
    """Price a dp question: the rho at which a measure's 95 % interval has the half-width
    wanted in cells of --persons, and how many such questions the remaining budget holds.
    Spends nothing and reads no data."""
    from api.cli import _release  # loaded for this command only

    _release.run_plan(
        spec_text=spec,
        data_dir=data_dir or _default_data_dir(),
        token_file=token_file,
        project=project,
        persons=persons,
        half_width=half_width,
        measure=measure,
    )


@app.command("publish")
def publish_command(
    out: Annotated[
        Path, typer.Option("--out", help="Folder to write the tables and the report into.")
    ],
    project: Annotated[str, typer.Option(help="The approved project published for.")] = "",
    indicators: Annotated[
        Path | None,
        typer.Option(
            help="The indicator set (default: official_indicators.toml in the policy folder)."
        ),
    ] = None,
    data_dir: DataDirOption = None,
    token_file: As = None,
) -> None:
    """Publish the official tables: release every indicator of the set through the release
    service as the project member whose token is given, and write each as NAME.csv and
    NAME.parquet, with report.md (plots, protection, anything held or refused) and
    publication.json (docs/reference/official-indicators.md). Publishing again from the same
    research snapshot spends nothing twice. Exit code 3: some tables were held or refused (the
    report says why)."""
    from api.cli import _publish  # loaded for this command only

    _publish.run_publish(
        data_dir=data_dir or _default_data_dir(),
        token_file=token_file,
        project=project,
        out=out,
        indicators_file=indicators,
    )


@app.command()
def serve(
    data_dir: DataDirOption = None,
    host: Annotated[
        str, typer.Option(envvar="MEDLER_HOST", help="Interface to listen on.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="MEDLER_PORT", help="Port to listen on.")] = 8000,
    dummy: Annotated[
        bool, typer.Option("--dummy", help="Serve a synthetic snapshot for query development.")
    ] = False,
    insecure_cookies: Annotated[
        bool,
        typer.Option(
            "--insecure-cookies",
            help="Development only: the DPO pages' cookie also over plain HTTP.",
        ),
    ] = False,
) -> None:
    """Run the HTTP service (researchers, the DPO's pages, the office) under /v1."""
    from api.cli import _serve  # uvicorn and FastAPI load only for this command

    _serve.run_serve(
        data_dir=data_dir or _default_data_dir(),
        host=host,
        port=port,
        dummy=dummy,
        insecure_cookies=insecure_cookies,
    )


@app.command()
def demo(
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="Where the demo keeps its data.")
    ] = Path("medler-data"),
    students: Annotated[int, typer.Option(help="Pupils in the demo municipality.")] = 1000,
    weeks: Annotated[int, typer.Option(help="Teaching weeks in the demo's calendar.")] = 10,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
) -> None:
    """Run the whole story on embedded defaults: synthesise, ingest, registers, build, a
    project, releases, a held request and its review, the ledger and the audit log."""
    from api.cli import _demo  # loaded for this command only

    _demo.run_demo(data_dir=data_dir, students=students, weeks=weeks, seed=seed)
