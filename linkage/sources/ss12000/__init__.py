"""SS 12000 v2.1 source adapter: paged JSON list responses → canonical tables.

Modules
- ``_reader``: the resources of an extract, one page at a time.
- ``_fields``: one field of a record, or exactly what is wrong with it.
- ``_ingest``: ``Ss12000Ingest``, the small resources and the rules (see its docstring).
- ``_bulk``: lessons, attendance and absence notices.
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
