"""Zone 1: from source extracts to pseudonymised canonical tables and research tables.

Subpackages
- ``sources``: one adapter per source format. Only these read raw identifiers, and they
  hand each one to ``pseudonymise`` at once. ``sources.synthetic`` is the synthetic
  municipality: a stand-in for a school system that writes SS 12000 v2.1 extracts.

Modules
- ``_ingest``: ``ingest_extract``, an extract into a new canonical snapshot.
- ``_snapshot``: immutable snapshots with a manifest, switched in atomically.
- ``_build``: ``build_research_tables``, the current snapshot into research tables.
- ``_backends``: the compute backend the build runs on: DuckDB in process (default) or Apache
  Spark (see docs/GLOSSARY.md, *compute backend*, for the rename proposed).
- ``_registers``: ``ingest_register``, a teacher or student register into a new snapshot.
- ``_prepare``: ``prepare_municipality``, the whole recipe on synthetic data (synth → key →
  ingest → registers → build), for the demo, the dummy service and the tests.
- ``_canonical``: the canonical tables' schemas.
- ``_inventory``: every snapshot in the data directory, its age, key version and use.
"""

from typing import TYPE_CHECKING

from medler._lazy import lazy_exports

if TYPE_CHECKING:
    from linkage._backends import BACKENDS, DEFAULT_MEMORY_LIMIT
    from linkage._build import BuildReport, build_research_tables
    from linkage._ingest import IngestReport, ingest_extract
    from linkage._inventory import SnapshotEntry, list_snapshots
    from linkage._prepare import (
        PreparedMunicipality,
        PrepareHooks,
        PrepareStep,
        prepare_municipality,
    )
    from linkage._registers import ingest_register
    from linkage._snapshot import current_snapshot, read_manifest, table_files, table_parts

# Where each public name lives; modules load on first use (PEP 562), so that commands that do
# not build start without loading ibis and DuckDB.
_HOME = {
    "BuildReport": "_build",
    "build_research_tables": "_build",
    "DEFAULT_MEMORY_LIMIT": "_backends",
    "BACKENDS": "_backends",
    "IngestReport": "_ingest",
    "ingest_extract": "_ingest",
    "ingest_register": "_registers",
    "SnapshotEntry": "_inventory",
    "PrepareHooks": "_prepare",
    "PreparedMunicipality": "_prepare",
    "PrepareStep": "_prepare",
    "prepare_municipality": "_prepare",
    "list_snapshots": "_inventory",
    "current_snapshot": "_snapshot",
    "read_manifest": "_snapshot",
    "table_files": "_snapshot",
    "table_parts": "_snapshot",
}


__getattr__ = lazy_exports(__name__, _HOME)

__all__ = [
    "BACKENDS",
    "DEFAULT_MEMORY_LIMIT",
    "BuildReport",
    "IngestReport",
    "PrepareHooks",
    "PrepareStep",
    "PreparedMunicipality",
    "SnapshotEntry",
    "build_research_tables",
    "current_snapshot",
    "ingest_extract",
    "ingest_register",
    "list_snapshots",
    "prepare_municipality",
    "read_manifest",
    "table_files",
    "table_parts",
]
