"""OneRoster 1.0/1.1/1.2 CSV as a source format (``--format oneroster``), registered in
``linkage.sources.SOURCE_FORMATS``."""

from __future__ import annotations

from linkage.sources._adapter import SourceFormat
from linkage.sources.oneroster._delivery import DELIVERY
from linkage.sources.oneroster._ingest import ingest_oneroster
from linkage.sources.oneroster._reader import looks_like_oneroster

SOURCE_FORMAT = SourceFormat(
    name="oneroster",
    kind="a OneRoster CSV set",
    looks=(
        "manifest.csv, or for OneRoster 1.0 users.csv with orgs.csv, classes.csv or enrollments.csv"
    ),
    label="OneRoster",
    updates="a delta set",
    looks_like=looks_like_oneroster,
    ingest=ingest_oneroster,
    delivery=DELIVERY,
)
