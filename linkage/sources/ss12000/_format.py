"""SS 12000 v2.1 as a source format (``--format ss12000``), registered in
``linkage.sources.SOURCE_FORMATS``."""

from __future__ import annotations

from linkage.sources._adapter import SourceFormat
from linkage.sources.ss12000._delivery import DELIVERY
from linkage.sources.ss12000._ingest import ingest_ss12000
from linkage.sources.ss12000._reader import RESOURCES, looks_like_ss12000

SOURCE_FORMAT = SourceFormat(
    name="ss12000",
    kind="an SS 12000 extract",
    looks=f"folders or files named after the resources: {', '.join(RESOURCES)}",
    label="SS 12000",
    updates="resources, and deletedEntities for what was removed",
    looks_like=looks_like_ss12000,
    ingest=ingest_ss12000,
    delivery=DELIVERY,
)
