"""OneRoster delta sets as weekly deliveries (``linkage._deliveries``): what may be added.

A delivery is a delta set read again with the bulk set and the delta sets already ingested;
every table is read again, and the ones that came out the same are shared. The build after one
is a full one (``FULL_BUILD``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from linkage._snapshot import file_sha256
from linkage.sources._adapter import DeliveryRules
from linkage.sources.oneroster._reader import FILES, MANIFEST, find_file, read_manifest
from medler.errors import InputFileError

FULL_BUILD = (
    "a OneRoster delivery changes classes and their members, and the class-level tables "
    "(exposure, student_teachers, student_term_teachers, teacher_terms) rest on every class's "
    "links in every term it spans: they are built in full"
)


def check_delta_delivery(new: Path, earlier: list[Path], manifest: dict[str, Any]) -> None:
    """``new`` is a delta set, and the sets already ingested are still the files the snapshot
    was made from."""
    _check_delta_set(new)
    _check_unchanged(manifest, earlier)


def _check_delta_set(new: Path) -> None:
    """A OneRoster delivery is a delta set: files ``delta`` or ``absent``, none ``bulk``."""
    if find_file(new, "manifest") is None:
        raise InputFileError(
            f"{new.name} has no {MANIFEST}: it is a OneRoster 1.0 set, which is always "
            "a bulk set, and a bulk set replaces what the snapshot holds rather than adding to "
            "it; ingest it on its own, without --delivery"
        )
    manifest = read_manifest(new)
    bulk = [f"{stem}.csv" for stem in FILES if manifest.mode(stem) == "bulk"]
    if bulk:
        raise InputFileError(
            f"{new.name}/{MANIFEST} marks {', '.join(bulk)} as bulk: a bulk set "
            "replaces what the snapshot holds rather than adding to it, so it is no delivery; "
            "ingest it on its own, without --delivery (or ask for a delta set: files 'delta' "
            "or 'absent')"
        )


def _check_unchanged(manifest: dict[str, Any], sets: list[Path]) -> None:
    """Every file the snapshot was made from is still there, unchanged: a OneRoster delivery
    reads them again, and must find what the snapshot holds."""
    files = (manifest.get("source") or {}).get("files") or {}
    by_name: dict[str, Path] = {}
    for folder in sets:
        by_name.setdefault(folder.name, folder)
    for name, digest in files.items():
        if len(sets) == 1:
            path = sets[0] / name
        else:
            head, _, rest = name.partition("/")
            path = by_name[head] / rest if head in by_name else Path(name)
        if not path.is_file() or file_sha256(path) != digest:
            raise InputFileError(
                f"{name} is not the file the current snapshot was ingested from (it is gone, "
                "or its SHA-256 differs): a delivery is added onto the very sets the snapshot "
                "holds; give them as they were, or ingest the bulk set and every delta set in "
                "full (without --delivery)"
            )


DELIVERY = DeliveryRules(
    what="a OneRoster delta set", check=check_delta_delivery, full_build=FULL_BUILD
)
