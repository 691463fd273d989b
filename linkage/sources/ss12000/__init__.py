"""SS 12000 v2.1 source adapter: paged JSON list responses → canonical tables.

Modules
- ``_reader``: the resources of an extract, one page at a time.
- ``_fields``: one field of a record, or exactly what is wrong with it.
- ``_ingest``: ``Ss12000Ingest``: the resources in order, organisations; the rules (see its
  docstring).
- ``_state``: ``Accepted``, what was accepted by source id; ``_sink``: ``PageSink``, where
  records are counted, quarantined, pseudonymised and written.
- ``_people``: persons and duties. ``_teaching``: groups, syllabuses, activities.
- ``_bulk``: lessons, attendance and absence notices; ``_parallel``: attendance pages parsed
  ahead by worker processes. ``_results``: grades and aggregated attendance.
- ``_organisers``: the organiser kind of a school unit. ``_dedupe``: duplicate attendance.
"""

from linkage.sources.ss12000._ingest import STANDARD, Ss12000Ingest, ingest_ss12000
from linkage.sources.ss12000._reader import RESOURCES, looks_like_ss12000, read_pages

__all__ = [
    "RESOURCES",
    "STANDARD",
    "Ss12000Ingest",
    "ingest_ss12000",
    "looks_like_ss12000",
    "read_pages",
]
