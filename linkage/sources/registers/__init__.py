"""Register files keyed by national ID: the teacher register (licence, certification per subject
and grade band, experience, arrival at the school) and the student register (background,
grade-9 results).

Modules
- ``_read``: CSV or Parquet register files into rows, each checked field by field.
"""

from linkage.sources.registers._read import REGISTER_KINDS, read_register

__all__ = ["REGISTER_KINDS", "read_register"]
