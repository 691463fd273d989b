"""Source adapters, one per format (SS 12000 v2.1 JSON, OneRoster CSV, register files) and
the synthetic municipality (``synthetic``), which plays the part of a school system.

``SOURCE_FORMATS`` is the registry of the formats ``medler ingest`` reads: each ``--format``
name maps to the module that defines its ``SOURCE_FORMAT`` (a ``SourceFormat``, see
``_adapter``). A new format is a package of its own and one line here; ``ingest_extract``, the
command line's ``--format`` and the docs read this registry. Formats load only when asked for,
so that naming them (in ``--help``, say) loads no adapter. Detection tries them in this order.

Packages
- ``ss12000``: SS 12000 v2.1 JSON. ``oneroster``: OneRoster CSV sets.
- ``registers``: teacher and student register files (``medler ingest-register``).
- ``synthetic``: the synthetic municipality.

Modules
- ``_adapter``: what an adapter gets (``AdapterContext``) and gives back (``AdapterResult``),
  and ``SourceFormat``.
- ``_errors``: ``BadField``, the one exception a reader raises for a field it cannot use.
- ``_quarantine``: the records set aside, with where and why. ``_compat``: vendor quirks.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from linkage.sources._adapter import SourceFormat

__all__ = ["SOURCE_FORMATS", "source_format", "source_formats"]

# --format name → the module whose SOURCE_FORMAT it is. One line per source format.
SOURCE_FORMATS: dict[str, str] = {
    "ss12000": "linkage.sources.ss12000._format",
    "oneroster": "linkage.sources.oneroster._format",
}


def source_format(name: str) -> SourceFormat:
    """The registered format called ``name`` (a ``KeyError`` if there is none)."""
    found: SourceFormat = importlib.import_module(SOURCE_FORMATS[name]).SOURCE_FORMAT
    if found.name != name:
        raise RuntimeError(
            f"{SOURCE_FORMATS[name]} defines the format '{found.name}' but is registered as "
            f"'{name}'; this is a bug in the registry (linkage.sources.SOURCE_FORMATS)"
        )
    return found


def source_formats() -> list[SourceFormat]:
    """Every registered format, in the registry's (detection) order."""
    return [source_format(name) for name in SOURCE_FORMATS]
