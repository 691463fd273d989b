"""Zone 1: from source extracts to pseudonymised canonical tables and research tables.

Subpackages
- ``sources``: one adapter per source format. Only these read raw identifiers, and they
  hand each one to ``pseudonymise`` at once. ``sources.synthetic`` is the synthetic
  municipality: a stand-in for a school system that writes SS 12000 v2.1 extracts.
"""

__all__: list[str] = []
