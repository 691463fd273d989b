"""SS 12000 incremental extracts as weekly deliveries (``linkage._deliveries``): what may be
added.

A delivery holds later weeks of the bulk resources (lessons, attendance, absence notices),
which become one new part of their tables; the other resources are read again from the extract
and every delivery, unless none of their files changed: then the snapshot's tables of them are
shared and its reference map resolves the delivery's references (``_references``). Deletions
of bulk records reach back into the weeks already held and are refused: such an extract is
ingested in full.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from linkage.sources._adapter import DeliveryRules
from linkage.sources.ss12000._ingest import BULK
from linkage.sources.ss12000._reader import RESOURCES, read_deletions, resource_files
from medler.errors import InputFileError


def check_weekly_delivery(new: Path, earlier: list[Path], manifest: dict[str, Any]) -> None:
    """``new`` deletes no record of the bulk resources (weeks already ingested)."""
    removed = {r: ids for r, ids in read_deletions(new).items() if r in BULK and ids}
    if removed:
        raise InputFileError(
            f"{new.name}/deletedEntities removes {', '.join(sorted(removed))} records of weeks "
            "already ingested; a weekly delivery only adds weeks. Ingest the extract and every "
            "delivery in full (without --delivery)"
        )


def other_files(folder: Path) -> list[Path]:
    """The files of ``folder`` of the resources other than the bulk ones, and its deletions."""
    return [
        path
        for resource in (*RESOURCES, "deletedEntities")
        if resource not in BULK
        for path in resource_files(folder, resource)
    ]


DELIVERY = DeliveryRules(
    what="an SS 12000 incremental extract",
    check=check_weekly_delivery,
    bulk=frozenset(BULK),
    reread=frozenset(r for r in RESOURCES if r not in BULK),
    reread_files=other_files,
)
