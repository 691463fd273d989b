"""Reading SS 12000 extracts page by page.

An extract is a folder with one subfolder per resource, named after its API endpoint
(``persons``, ``calendarEvents``…), each holding the list responses as JSON files
(``{"data": [...], "pageToken": ...}``), read in file-name order. A resource may also be a
single file ``<resource>.json``. Only one page is in memory at a time, whatever the size of the
resource.

A page may also be a bare list of records, an object holding the list under the resource's
name, or a single record, as some exports and samples are. A UTF-8 byte-order mark at the
start of a file is skipped, as in CSV. An object whose ``data`` is not a
list, JSON that is not an object or a list, or a file that is not JSON stops the ingest with
one clear error that names the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from medler.errors import InputFileError

STANDARD = "SS 12000 v2.1"
RESOURCES: tuple[str, ...] = (
    "organisations",
    "persons",
    "duties",
    "groups",
    "syllabuses",
    "activities",
    "calendarEvents",
    "attendances",
    "absences",
    "grades",
    "aggregatedAttendance",
)
# Resources an extract may well lack (no warning when absent): grades come from a separate
# system in many municipalities; aggregated attendance is only a fallback for schools without
# per-lesson attendance.
OPTIONAL_RESOURCES = frozenset({"grades", "aggregatedAttendance"})


@dataclass(frozen=True)
class Page:
    """One page of a resource: the file it came from (relative to the extract) and records."""

    source_file: str
    records: list[Any]


_BOM = b"\xef\xbb\xbf"  # a UTF-8 byte-order mark, as some Windows tools write: skipped


def resource_files(root: Path, resource: str) -> list[Path]:
    folder = root / resource
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    single = root / f"{resource}.json"
    if single.is_file():
        files.append(single)
    return files


def looks_like_ss12000(root: Path) -> bool:
    return any(resource_files(root, r) for r in RESOURCES)


def _load(path: Path, relative: str) -> Any:
    try:
        return orjson.loads(path.read_bytes().removeprefix(_BOM))
    except orjson.JSONDecodeError as error:
        raise InputFileError(
            f"{relative} is not valid JSON ({error.msg} at character {error.pos}); an SS 12000 "
            "extract holds the API's JSON responses: re-export the file, or remove it"
        ) from error
    except OSError as error:
        raise InputFileError(f"cannot read {relative} ({error.strerror})") from error


# The specification spells one key of DeletedEntities "activitites"; both spellings are read.
_DELETED_ALIASES = {"activitites": "activities"}


def read_deletions(root: Path) -> dict[str, set[str]]:
    """The ids each resource lost, from the extract's ``deletedEntities`` pages (if any)."""
    deleted: dict[str, set[str]] = {}
    for path in resource_files(root, "deletedEntities"):
        relative = path.relative_to(root).as_posix()
        document = _load(path, relative)
        data = document.get("data") if isinstance(document, dict) else None
        if not isinstance(data, dict):
            raise InputFileError(
                f"{relative} is not a deletedEntities response (an object 'data' with a list of "
                "ids per resource)"
            )
        for key, ids in data.items():
            resource = _DELETED_ALIASES.get(key, key)
            if resource in RESOURCES and isinstance(ids, list):
                deleted.setdefault(resource, set()).update(i for i in ids if isinstance(i, str))
    return deleted


def read_pages(root: Path, resource: str) -> Iterator[Page]:
    """The pages of ``resource`` in order, one at a time."""
    for path in resource_files(root, resource):
        yield read_page(root, path, resource)


def read_page(root: Path, path: Path, resource: str) -> Page:
    """The page of ``resource`` in file ``path`` of the extract in ``root``."""
    relative = path.relative_to(root).as_posix()
    document = _load(path, relative)
    if isinstance(document, dict) and isinstance(document.get("data"), list):
        records = document["data"]
    elif isinstance(document, list):
        records = document
    elif isinstance(document, dict) and isinstance(document.get(resource), list):
        records = document[resource]  # {"activities": [...]}, as some exports wrap lists
    elif isinstance(document, dict) and "data" not in document:
        records = [document]  # one record (aggregated attendance has no id)
    else:
        raise InputFileError(
            f"{relative} is JSON but not an SS 12000 list response ('data' is not an array) "
            f"nor a record; check that it belongs to the '{resource}' resource"
        )
    return Page(relative, records)
