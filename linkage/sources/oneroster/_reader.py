"""Reading a OneRoster CSV set: its manifest, and each file one row at a time.

A set is a folder holding ``manifest.csv`` (``propertyName,value``, quoted or not) and one CSV
file per kind of object. The manifest says which version the set follows (``oneroster.version``)
and, for each file, whether it is ``bulk`` (every object), ``delta`` (changes since an earlier
export) or ``absent``. OneRoster 1.0 had no manifest: a folder without one whose ``users.csv``
and ``orgs.csv``, ``classes.csv`` or ``enrollments.csv`` start with a ``sourcedId`` column is
read as a 1.0 bulk set (every file present is bulk). File names and column names are matched
without regard to case (``userprofiles.csv``, ``birthdate``), and the few columns renamed
between versions are read under their current name (``grade`` → ``grades``, ``userSourcedId`` →
``sourcedId`` in demographics).

A row with fewer cells than the header names is marked (``"(short)"``), as is one with more
(``"(extra)"``): the ingest quarantines both rather than guess which cells are missing. (Cells
under trailing blank header cells may be left out, as some exports do.)

A file that cannot be read as a CSV table (undecodable bytes, bad quoting, a missing required
column, a duplicated column, columns separated by ``;`` or tabs) stops the ingest with one
``InputFileError`` that names the file and says what to do; nothing of the set is written.
Messages never quote a cell.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from medler.errors import InputFileError

MANIFEST = "manifest.csv"
VERSIONS = ("1.0", "1.1", "1.2")
MODES = ("bulk", "delta", "absent")

# The files medler reads, in the order it reads them (each only refers to earlier ones,
# except roles and userProfiles, which refer to users).
FILES: tuple[str, ...] = (
    "orgs",
    "academicSessions",
    "courses",
    "users",
    "roles",
    "userProfiles",
    "demographics",
    "classes",
    "enrollments",
)

# Columns a file must have for medler to use it. Everything else is optional.
REQUIRED: dict[str, tuple[str, ...]] = {
    "orgs": ("sourcedId", "type"),
    "academicSessions": ("sourcedId",),
    "courses": ("sourcedId",),
    "users": ("sourcedId",),
    "roles": ("sourcedId", "userSourcedId", "role", "orgSourcedId"),
    "userProfiles": ("sourcedId", "userSourcedId"),
    "demographics": ("sourcedId",),
    "classes": ("sourcedId", "schoolSourcedId"),
    "enrollments": ("sourcedId", "classSourcedId", "userSourcedId", "role"),
}

# Columns read, by file (any case), and older names read under the current one.
_KNOWN: dict[str, tuple[str, ...]] = {
    "orgs": ("sourcedId", "status", "type", "identifier", "parentSourcedId"),
    "academicSessions": ("sourcedId", "status", "type", "startDate", "endDate"),
    "courses": ("sourcedId", "status", "orgSourcedId", "subjects", "subjectCodes"),
    "users": (
        "sourcedId",
        "status",
        "role",
        "orgSourcedIds",
        "identifier",
        "grades",
        "primaryOrgSourcedId",
    ),
    "roles": (
        "sourcedId",
        "status",
        "userSourcedId",
        "role",
        "roleType",
        "orgSourcedId",
        "beginDate",
        "endDate",
    ),
    "userProfiles": ("sourcedId", "status", "userSourcedId"),
    "demographics": ("sourcedId", "status", "birthDate", "sex"),
    "classes": (
        "sourcedId",
        "status",
        "courseSourcedId",
        "classType",
        "schoolSourcedId",
        "termSourcedIds",
        "subjects",
        "subjectCodes",
        "grades",
    ),
    "enrollments": (
        "sourcedId",
        "status",
        "classSourcedId",
        "schoolSourcedId",
        "userSourcedId",
        "role",
        "primary",
        "beginDate",
        "endDate",
    ),
}
_RENAMED: dict[str, dict[str, str]] = {
    "demographics": {"usersourcedid": "sourcedId"},
    "classes": {"grade": "grades"},
    "users": {"orgsourcedid": "orgSourcedIds"},
}

Row = dict[str, str]


@dataclass(frozen=True)
class Manifest:
    """What ``manifest.csv`` says: the version, and each file's mode (``bulk``, ``delta``,
    ``absent``); a file the manifest does not name, or names with a blank mode, is absent.
    ``present`` is False for a OneRoster 1.0 set, which has no manifest: its modes are then
    ``bulk`` for every file in the folder."""

    version: str | None
    modes: dict[str, str]
    blank: tuple[str, ...]  # files named with a blank mode
    present: bool = True

    def mode(self, stem: str) -> str:
        return self.modes.get(stem.lower(), "absent")


def _csv_files(root: Path) -> dict[str, Path]:
    return {p.name.lower(): p for p in root.iterdir() if p.is_file() and p.suffix == ".csv"}


def find_file(root: Path, stem: str) -> Path | None:
    """The file of ``stem`` in the set, whatever the case of its name."""
    return _csv_files(root).get(f"{stem.lower()}.csv")


def _first_cell(path: Path) -> str:
    """The first cell of a file's header, unquoted and lower-case ("" if unreadable)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            first = f.readline(2000)
    except (OSError, UnicodeDecodeError):
        return ""
    cells = next(csv.reader([first]), [])
    return cells[0].strip().lower() if cells else ""


def looks_like_oneroster(root: Path) -> bool:
    """A folder with a ``manifest.csv`` whose header starts with ``propertyName`` (quoted or
    not), or a OneRoster 1.0 set: no manifest, and a ``users.csv`` with one of ``orgs.csv``,
    ``classes.csv``, ``enrollments.csv``, each starting with a ``sourcedId`` column."""
    if not root.is_dir():
        return False
    path = find_file(root, "manifest")
    if path is not None:
        return _first_cell(path).startswith("propertyname")
    return is_manifestless_set(root)


def is_manifestless_set(root: Path) -> bool:
    """A folder that looks like a OneRoster 1.0 set (which came without ``manifest.csv``)."""
    if find_file(root, "manifest") is not None:
        return False
    files = _csv_files(root)
    core = [files.get(f"{stem}.csv") for stem in ("orgs", "classes", "enrollments")]
    users = files.get("users.csv")
    return (
        users is not None
        and _first_cell(users) == "sourcedid"
        and any(p is not None and _first_cell(p) == "sourcedid" for p in core)
    )


def read_manifest(root: Path, *, manifestless: bool = False) -> Manifest:
    """The set's manifest; with ``manifestless``, a OneRoster 1.0 set without one is read as
    a bulk set of the files it holds."""
    path = find_file(root, "manifest")
    if path is None and manifestless and is_manifestless_set(root):
        present = {stem.lower(): "bulk" for stem in FILES if find_file(root, stem) is not None}
        return Manifest("1.0", present, (), present=False)
    if path is None:
        raise InputFileError(
            f"{root} has no manifest.csv; a OneRoster CSV set starts with a manifest.csv "
            "that lists its files: export the whole set, not single files"
        )
    modes: dict[str, str] = {}
    blank: list[str] = []
    version: str | None = None
    for position, row in _rows(
        path,
        MANIFEST,
        ("propertyName", "value"),
        {"propertyname": "propertyName", "value": "value"},
    ):
        name, value = row.get("propertyName", "").strip(), row.get("value", "").strip()
        if name.lower() == "oneroster.version":
            if value not in VERSIONS:
                raise InputFileError(
                    f"{MANIFEST} row {position}: oneroster.version is not one of "
                    f"{', '.join(VERSIONS)}; medler reads OneRoster 1.0, 1.1 and 1.2 CSV sets"
                )
            version = value
        elif name.lower().startswith("file."):
            stem = name[5:].lower()
            if not value:
                blank.append(name[5:])
                continue
            if value.lower() not in MODES:
                raise InputFileError(
                    f"{MANIFEST} row {position}: {name} has a mode other than bulk, delta or "
                    "absent; correct the manifest"
                )
            modes[stem] = value.lower()
    return Manifest(version, modes, tuple(blank))


def read_rows(root: Path, stem: str) -> Iterator[tuple[int, Row]]:
    """The rows of ``<stem>.csv`` with their 1-based positions (row 1 is the first row under
    the header), as ``{column: text}`` under the column names of ``_KNOWN``. A row with more
    cells than the header gets the key ``"(extra)"``."""
    path = find_file(root, stem)
    assert path is not None
    names = {n.lower(): n for n in _KNOWN[stem]} | _RENAMED.get(stem, {})
    yield from _rows(path, path.name, REQUIRED[stem], names)


def _lines(f: BinaryIO, name: str) -> Iterator[str]:
    """The file's lines as text, decoded one at a time so that a bad byte is found by line."""
    for number, raw in enumerate(f, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InputFileError(
                f"{name} is not UTF-8 text (an undecodable byte on line {number}); OneRoster "
                "CSV files are UTF-8: export the file again as UTF-8"
            ) from error
        yield line.removeprefix("\ufeff") if number == 1 else line


def _rows(
    path: Path, name: str, required: tuple[str, ...], names: dict[str, str]
) -> Iterator[tuple[int, Row]]:
    position = 0
    try:
        with path.open("rb") as f:
            reader = csv.reader(_lines(f, name), strict=True)
            header = next(reader, None)
            columns = _header(name, header or [], required, names)
            width = len(columns)
            # a row may leave out cells under trailing blank header cells, as some exports do
            named = max((i + 1 for i, c in enumerate(header or []) if c.strip()), default=0)
            for cells in reader:
                if not cells or all(not c.strip() for c in cells):
                    continue  # blank lines are not rows
                position += 1
                row = {col: cells[i] for i, col in enumerate(columns) if col and i < len(cells)}
                if len(cells) > width and any(c.strip() for c in cells[width:]):
                    row["(extra)"] = ",".join(cells[width:])
                elif len(cells) < named:
                    row["(short)"] = f"{len(cells)} of {named} cells, line {reader.line_num}"
                yield position, row
    except csv.Error as error:
        raise InputFileError(
            f"{name} is not a well-formed CSV file ({error}, after row {position}); export "
            "the file again, or repair its quoting"
        ) from error
    except OSError as error:
        raise InputFileError(f"cannot read {name} ({error.strerror})") from error


def _header(
    name: str, header: list[str], required: tuple[str, ...], names: dict[str, str]
) -> list[str]:
    """The header's cells under their canonical names; blank or unknown columns map to ``""``
    (unread). A missing required column or a column given twice is refused."""
    columns = [names.get(cell.strip().lower(), "") for cell in header]
    missing = [c for c in required if c not in columns]
    separator = next((s for s in (";", "\t", "|") if len(header) == 1 and s in header[0]), None)
    if missing and separator is not None:
        shown = "tabs" if separator == "\t" else f"'{separator}'"
        raise InputFileError(
            f"{name} separates its columns with {shown}, not commas (its header is one "
            "column); OneRoster CSV files are comma-separated UTF-8: export the file again as "
            "comma-separated UTF-8 (in a spreadsheet: 'CSV UTF-8 (comma delimited)')"
        )
    if missing:
        raise InputFileError(
            f"{name} has no column {', '.join(missing)} in its header; a OneRoster "
            "file starts with a header row naming its columns: export the file again with "
            "its header"
        )
    read = [c for c in columns if c]
    twice = sorted({c for c in read if read.count(c) > 1})
    if twice:
        raise InputFileError(
            f"{name} names the column {', '.join(twice)} more than once in its header; "
            "remove the duplicate column"
        )
    return columns
