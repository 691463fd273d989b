"""Small hand-written OneRoster 1.1 sets for the weekly-delivery tests: a bulk set and two
delta sets, one week apart."""

from __future__ import annotations

from pathlib import Path

import pytest

ENROLLMENT = (
    "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,"
    "primary,beginDate,endDate\n"
)
USER = (
    "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,"
    "givenName,familyName,identifier,email\n"
)
CLASS = (
    "sourcedId,status,dateLastModified,title,courseSourcedId,classCode,classType,location,"
    "schoolSourcedId,termSourcedIds,subjects,subjectCodes\n"
)
# two terms, two classes, four pupils, three teachers (one of them shares a class)
BULK = {
    "orgs": (
        "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n"
        "o-d,active,,District,district,,\n"
        "o-1,active,,School,school,12345678,o-d\n"
    ),
    "academicSessions": (
        "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,"
        "schoolYear\n"
        "t-ht,active,,Autumn,term,2024-08-19,2024-12-20,,2025\n"
        "t-vt,active,,Spring,term,2025-01-07,2025-06-13,,2025\n"
    ),
    "users": USER
    + "".join(f"s{i},active,,true,o-1,student,,,,,,\n" for i in range(1, 5))
    + "".join(f"t{i},active,,true,o-1,teacher,,,,,,\n" for i in range(1, 4)),
    "classes": CLASS
    + '"c-ma",active,,Maths,,,scheduled,,o-1,"t-ht,t-vt",Mathematics,MA\n'
    + '"c-sv",active,,Swedish,,,scheduled,,o-1,"t-ht,t-vt",Swedish,SV\n',
    "enrollments": ENROLLMENT
    + "".join(f"e-ma-s{i},active,,c-ma,o-1,s{i},student,false,,\n" for i in (1, 2, 3))
    + "".join(f"e-sv-s{i},active,,c-sv,o-1,s{i},student,false,,\n" for i in (2, 3, 4))
    + "e-ma-t1,active,,c-ma,o-1,t1,teacher,true,,\n"
    + "e-sv-t2,active,,c-sv,o-1,t2,teacher,true,,\n"
    + "e-sv-t3,active,,c-sv,o-1,t3,teacher,false,,\n",
}
# a new pupil in maths; its teacher leaves at the end of January and t3 takes over; s4 leaves
WEEK_2 = {
    "users": USER + "s5,active,2025-01-20,true,o-1,student,,,,,,\n",
    "enrollments": ENROLLMENT
    + "e-ma-s5,active,2025-01-20,c-ma,o-1,s5,student,false,,\n"
    + "e-ma-t1,active,2025-01-20,c-ma,o-1,t1,teacher,true,,2025-01-31\n"
    + "e-ma-t3,active,2025-01-20,c-ma,o-1,t3,teacher,true,2025-02-01,\n"
    + "e-sv-s4,tobedeleted,2025-01-20,c-sv,o-1,s4,student,false,,\n",
}
# a new English class in spring, with s1 and t2; s3 leaves Swedish at Easter
WEEK_3 = {
    "classes": CLASS + 'c-en,active,2025-01-27,English,,,scheduled,,o-1,"t-vt",English,EN\n',
    "enrollments": ENROLLMENT
    + "e-en-s1,active,2025-01-27,c-en,o-1,s1,student,false,,\n"
    + "e-en-t2,active,2025-01-27,c-en,o-1,t2,teacher,true,,\n"
    + "e-sv-s3,active,2025-01-27,c-sv,o-1,s3,student,false,,2025-04-11\n",
}


def write_set(root: Path, files: dict[str, str], mode: str) -> Path:
    root.mkdir(parents=True)
    manifest = ["propertyName,value", "manifest.version,1.0", "oneroster.version,1.1"]
    for stem, text in files.items():
        (root / f"{stem}.csv").write_text(text, encoding="utf-8")
        manifest.append(f"file.{stem},{mode}")
    (root / "manifest.csv").write_text("\n".join(manifest) + "\n", encoding="utf-8")
    return root


@pytest.fixture
def sets(tmp_path: Path) -> tuple[Path, Path, Path]:
    return (
        write_set(tmp_path / "bulk", BULK, "bulk"),
        write_set(tmp_path / "week-02", WEEK_2, "delta"),
        write_set(tmp_path / "week-03", WEEK_3, "delta"),
    )
