"""A small hand-written OneRoster 1.1 bulk set, written per test, and the session key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.linkage.ingest.conftest import session_key

__all__ = ["session_key"]  # the session key file, shared with the ingestion tests

# Skatteverket's reserved test personnummer: valid, and no real person's.
TEST_PERSONNUMMER = "189001019802"

BASE: dict[str, str] = {
    "orgs": (
        "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n"
        "org-dist,active,,Sunny Municipality,district,,\n"
        "org-1,active,,Sunny School,school,12345678,org-dist\n"
    ),
    "users": (
        "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,"
        "givenName,familyName,identifier,email\n"
        f"u-stu,active,,true,org-1,student,pupil.one,,Pupil,Onesson,{TEST_PERSONNUMMER},"
        "pupil@example.org\n"
        "u-tea,active,,true,org-1,teacher,teach.er,,Tea,Cherington,,teacher@example.org\n"
    ),
    "classes": (
        "sourcedId,status,dateLastModified,title,courseSourcedId,classCode,classType,location,"
        "schoolSourcedId,termSourcedIds,subjects,subjectCodes\n"
        "c-1,active,,Maths 7A,,,scheduled,,org-1,,Mathematics,MA\n"
    ),
    "enrollments": (
        "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,"
        "primary,beginDate,endDate\n"
        "e-1,active,,c-1,org-1,u-stu,student,false,2024-08-19,2025-06-13\n"
        "e-2,active,,c-1,org-1,u-tea,teacher,true,2024-08-19,2025-06-13\n"
    ),
}


def write_set(
    root: Path,
    extra_rows: dict[str, str] | None = None,
    *,
    modes: dict[str, str] | None = None,
    version: str = "1.1",
) -> Path:
    """``BASE`` (plus ``extra_rows`` appended to its files) as a set in ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    files = dict(BASE)
    for stem, rows in (extra_rows or {}).items():
        files[stem] = files[stem] + rows
    manifest = ["propertyName,value", "manifest.version,1.0", f"oneroster.version,{version}"]
    for stem, text in files.items():
        (root / f"{stem}.csv").write_text(text, encoding="utf-8")
        manifest.append(f"file.{stem},{(modes or {}).get(stem, 'bulk')}")
    (root / "manifest.csv").write_text("\n".join(manifest) + "\n", encoding="utf-8")
    return root


@pytest.fixture
def small_set(tmp_path: Path) -> Path:
    return write_set(tmp_path / "set")
