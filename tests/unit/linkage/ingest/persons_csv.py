"""A tiny source format for the registry's tests: one ``persons.csv`` of pupils.

Columns ``person_id, national_id, birth_year``. Each row is a pupil: the national ID is
pseudonymised under the ID policy (the person ID is the source-local fallback), and a birth year
that is not a whole number sets the row aside. A real adapter, small enough to read at a glance:
it shows what a new format must provide, and the tests register it without touching
``linkage/_ingest.py``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
import pyarrow as pa

from linkage._canonical import SCHEMAS
from linkage.sources._adapter import AdapterContext, AdapterResult, ResourceCount, SourceFormat
from linkage.sources._errors import BadField
from linkage.sources._quarantine import KEPT_LOCAL
from pseudonymise import Domain, IdStatus

STANDARD = "persons CSV 1"
FILE = "persons.csv"


def looks_like_persons(root: Path) -> bool:
    """A folder with a ``persons.csv`` whose header starts with ``person_id``."""
    path = root / FILE
    if not path.is_file():
        return False
    with path.open(encoding="utf-8") as file:
        return file.readline().startswith("person_id,")


def _birth_year(row: dict[str, str]) -> int:
    text = (row.get("birth_year") or "").strip()
    if not text.isdigit():
        raise BadField("birth_year", "not a whole number", text)
    return int(text)


def ingest_persons(context: AdapterContext) -> AdapterResult:
    """Every row of ``persons.csv`` into ``students``, or the quarantine with its line."""
    path = context.root / FILE
    with path.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    count = ResourceCount(read=len(rows))
    checked: list[tuple[int, dict[str, str], int]] = []
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        try:
            checked.append((line, row, _birth_year(row)))
        except BadField as error:
            count.quarantined += 1
            context.quarantine.add("persons", FILE, line, error.field, error.reason, error.value)
    ids = context.pseudonymiser.pseudonymise_people(
        Domain.STUDENT,
        pl.Series([row["national_id"] for _, row, _ in checked], dtype=pl.String),
        local_ids=pl.Series([row["person_id"] for _, row, _ in checked], dtype=pl.String),
        source=context.source,
        policy=context.policy,
    )
    students: list[dict[str, object]] = []
    for (line, row, year), pid, status, reason in zip(
        checked,
        ids["student_pid"].to_list(),
        ids["id_status"].to_list(),
        ids["id_reason"].to_list(),
        strict=True,
    ):
        if status == IdStatus.QUARANTINED.value:
            count.quarantined += 1
            context.quarantine.add(
                "persons", FILE, line, "national_id", f"national ID: {reason}", row["national_id"]
            )
            continue
        if status == IdStatus.LOCAL.value:
            context.quarantine.add(
                "persons",
                FILE,
                line,
                "national_id",
                f"national ID: {reason}",
                row["national_id"],
                outcome=KEPT_LOCAL,
            )
        count.accepted += 1
        students.append({"student_pid": int(pid), "id_status": status, "birth_year": year})
    lineage = {"source_standard": STANDARD, "source_file": FILE, "ingested_at": context.ingested_at}
    schema = SCHEMAS["students"]
    columns = {
        name: [lineage[name] if name in lineage else s.get(name) for s in students]
        for name in schema.names
    }
    context.writer.write("students", pa.table(columns, schema=schema))
    return AdapterResult(STANDARD, {"persons": count}, [path])


SOURCE_FORMAT = SourceFormat(
    name="persons-csv",
    kind="a persons CSV",
    looks="persons.csv with the columns person_id, national_id, birth_year",
    label="persons CSV",
    updates="another persons.csv",
    looks_like=looks_like_persons,
    ingest=ingest_persons,
)
