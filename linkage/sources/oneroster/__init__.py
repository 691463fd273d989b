"""OneRoster 1.0/1.1/1.2 CSV source adapter: a bulk CSV set → canonical tables.

Modules
- ``_reader``: the manifest, and each file's rows (case-blind file and column names; a file
  that is not a readable CSV table stops the ingest with one clear error).
- ``_fields``: one cell of a row, or exactly what is wrong with it.
- ``_ingest``: ``OneRosterIngest``, the rules (see its docstring), organisations, academic
  sessions and courses; ``ingest_oneroster``, the adapter.
- ``_people``: users, roles, user profiles and demographics → students, enrolments, staff.
- ``_classes``: classes and enrollments → groups, syllabuses, activities and their members.

OneRoster carries no lessons and no attendance: those tables stay empty, and the build links
pupils and teachers per class and term instead (``linkage/_basis.py``; docs/reference/
oneroster.md).
"""

from linkage.sources.oneroster._ingest import NO_LESSONS, OneRosterIngest, ingest_oneroster
from linkage.sources.oneroster._reader import FILES, looks_like_oneroster

__all__ = [
    "FILES",
    "NO_LESSONS",
    "OneRosterIngest",
    "ingest_oneroster",
    "looks_like_oneroster",
]
