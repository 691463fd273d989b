"""SS 12000 incremental extracts as weekly deliveries (``linkage._deliveries``): what may be
added.

A delivery holds later weeks of the bulk resources (lessons, attendance, absence notices),
which become one new part of their tables; the other resources are read again from the extract
and every delivery. Deletions of bulk records reach back into the weeks already held and are
refused: such an extract is ingested in full.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from linkage.sources._adapter import DeliveryRules
from linkage.sources.ss12000._ingest import BULK
from linkage.sources.ss12000._reader import RESOURCES, read_deletions
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


DELIVERY = DeliveryRules(
    what="an SS 12000 incremental extract",
    check=check_weekly_delivery,
    bulk=frozenset(BULK),
    reread=frozenset(r for r in RESOURCES if r not in BULK),
)
