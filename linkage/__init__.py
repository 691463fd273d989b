"""Zone 1: from source extracts to pseudonymised canonical tables and research tables.

Subpackages
- ``sources``: one adapter per source format. Only these read raw identifiers, and they
  hand each one to ``pseudonymise`` at once. ``sources.synthetic`` is the synthetic
  municipality: a stand-in for a school system that writes SS 12000 v2.1 extracts.

Modules
- ``_ingest``: ``ingest_extract``, an extract into a new canonical snapshot.
- ``_snapshot``: immutable snapshots with a manifest, switched in atomically.
- ``_canonical``: the canonical tables' schemas.
"""

from linkage._ingest import IngestReport, ingest_extract
from linkage._snapshot import current_snapshot, read_manifest

__all__ = ["IngestReport", "current_snapshot", "ingest_extract", "read_manifest"]
