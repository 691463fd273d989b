"""``medler ingest`` and ``medler ingest-register`` from the command line."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from api.cli import run
from api.cli._errors import EXIT_INPUT, EXIT_USAGE
from linkage import ingest_register
from linkage.sources.registers._read import RESOURCE
from medler.errors import UsageError
from pseudonymise import IdPolicy, Unlinkable
from tests.unit.linkage.ingest.conftest import Ingested, ingested, session_key

__all__ = ["ingested", "session_key"]


def test_ingest_and_registers_print_what_was_read(
    ingested: Ingested, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    key = ["--key-file", str(ingested.key_file), "--data-dir", str(data)]
    assert run(["ingest", str(ingested.extract.out / "ss12000"), *key]) == 0
    out = capsys.readouterr().out
    assert "attendances" in out and "quarantined" in out
    register = ingested.extract.out / "registers" / "student_register.csv"
    assert run(["ingest-register", "students", str(register), *key]) == 0
    assert "student_register" in capsys.readouterr().out


def test_ingest_of_a_broken_page_is_one_line_and_exit_65(
    ingested: Ingested, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extract = tmp_path / "extract" / "organisations"
    extract.mkdir(parents=True)
    (extract / "page-000001.json").write_bytes(b"\xff\xfe garbage")
    code = run(
        [
            "ingest",
            str(extract.parent),
            "--key-file",
            str(ingested.key_file),
            "--data-dir",
            str(tmp_path / "data"),
        ]
    )
    assert code == EXIT_INPUT
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: organisations/page-000001.json is not valid JSON (")
    assert "\n" not in err


def test_a_oneroster_set_is_detected_and_ingested(
    ingested: Ingested, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.conftest import shared_path

    source = shared_path("testdata/oneroster/catalyst-moodle-enrol_oneroster/Test_minimal_data_set")
    args = [
        "ingest",
        str(source),
        "--key-file",
        str(ingested.key_file),
        "--data-dir",
        str(tmp_path / "data"),
    ]
    assert run(args) == 0
    out = capsys.readouterr().out
    assert "OneRoster" in out and "enrollments" in out
    # The warning says what cannot be built (rich may wrap the line).
    assert "warning: OneRoster has no lesson times and no attendance" in " ".join(out.split())


def test_build_writes_a_research_snapshot(
    ingested: Ingested, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import polars as pl

    from linkage import current_snapshot, read_manifest

    data = tmp_path / "data"
    key = ["--key-file", str(ingested.key_file), "--data-dir", str(data)]
    assert run(["ingest", str(ingested.extract.out / "ss12000"), *key]) == 0
    assert run(["build", "--student-lessons", "--data-dir", str(data)]) == 0
    assert "student_lessons" in capsys.readouterr().out
    research = current_snapshot(data / "research")
    manifest = read_manifest(research)
    assert manifest["kind"] == "research"
    assert (
        manifest["built_from"]["snapshot_id"]
        == read_manifest(current_snapshot(data))["snapshot_id"]
    )
    table = pl.read_parquet(research / "student_lessons.parquet")
    assert table.height == ingested.extract.truth["counts"]["attendance_records"]
    assert not any(
        c.endswith("_pid") and c not in {"student_pid", "lesson_pid"} for c in table.columns
    )


def test_build_refuses_a_memory_limit_that_is_no_size(
    ingested: Ingested, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    key = ["--key-file", str(ingested.key_file), "--data-dir", str(data)]
    assert run(["ingest", str(ingested.extract.out / "ss12000"), *key]) == 0
    assert run(["build", "--data-dir", str(data), "--memory-limit", "lots"]) == 2
    assert "memory limit 'lots' is not a size" in capsys.readouterr().err
    assert not (data / "research" / "CURRENT").exists()


def _quarantine(data: Path) -> list[dict[str, object]]:
    snapshot = data / "snapshots" / (data / "CURRENT").read_text(encoding="utf-8").strip()
    return pq.read_table(snapshot / "quarantine.parquet").to_pylist()


def _kept_local(out: str) -> int:
    found = re.search(r"\(([\d,]+) people kept with a source-local pseudonym\)", out)
    assert found, out
    return int(found.group(1).replace(",", ""))


def test_the_id_policy_is_chosen_on_the_command_line_and_registers_follow_it(
    ingested: Ingested, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extract = str(ingested.extract.out / "ss12000")
    register = str(ingested.extract.out / "registers" / "student_register.csv")
    default = ["--key-file", str(ingested.key_file), "--data-dir", str(tmp_path / "default")]
    assert run(["ingest", extract, *default]) == 0
    out = capsys.readouterr().out
    assert (
        "ID policy: SE; unlinkable IDs: local; interim numbers: no; coordination numbers: "
        "yes" in out
    )
    local = _kept_local(out)
    assert local > 0, "the synthetic municipality has pupils whose numbers cannot be linked"

    strict = ["--key-file", str(ingested.key_file), "--data-dir", str(tmp_path / "strict")]
    assert run(["ingest", extract, *strict, "--unlinkable", "quarantine", "--allow-interim"]) == 0
    out = capsys.readouterr().out
    assert "unlinkable IDs: quarantine; interim numbers: yes" in out
    assert _kept_local(out) == 0
    snapshot = (
        tmp_path
        / "strict"
        / "snapshots"
        / (tmp_path / "strict" / "CURRENT").read_text(encoding="utf-8").strip()
    )
    manifest = json.loads((snapshot / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["id_policy"] == {
        "country": "SE",
        "on_unlinkable": "quarantine",
        "allow_interim": "True",
        "allow_coordination": "True",
    }
    # the people the default kept under a local pseudonym are set aside instead
    set_aside = {
        folder: sum(1 for row in _quarantine(tmp_path / folder) if row["reason"] != "kept-local")
        for folder in ("default", "strict")
    }
    assert set_aside["strict"] - set_aside["default"] >= local

    # a register is linked under the snapshot's own policy: the pupil with an interim number
    # is linked under the strict one, and set aside under the default
    assert run(["ingest-register", "students", register, *default]) == 0
    assert run(["ingest-register", "students", register, *strict]) == 0
    capsys.readouterr()
    register_set_aside = {
        folder: sorted(
            str(row["reason"])
            for row in _quarantine(tmp_path / folder)
            if row["resource"] == RESOURCE["students"]
        )
        for folder in ("default", "strict")
    }
    assert len(register_set_aside["default"]) > len(register_set_aside["strict"])
    assert any("interim" in r for r in register_set_aside["default"]), register_set_aside
    assert not any("interim" in r for r in register_set_aside["strict"]), register_set_aside


def test_an_unknown_id_policy_value_is_named(
    ingested: Ingested, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(
        [
            "ingest",
            str(ingested.extract.out / "ss12000"),
            "--key-file",
            str(ingested.key_file),
            "--data-dir",
            str(tmp_path / "d"),
            "--unlinkable",
            "drop",
        ]
    )
    assert code == EXIT_USAGE
    err = capsys.readouterr().err
    assert "--unlinkable is one of local, quarantine, not 'drop'" in err
    assert not (tmp_path / "d" / "CURRENT").exists()


def test_a_register_under_another_id_policy_is_refused(ingested: Ingested, tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert (
        run(
            [
                "ingest",
                str(ingested.extract.out / "ss12000"),
                "--key-file",
                str(ingested.key_file),
                "--data-dir",
                str(data),
            ]
        )
        == 0
    )
    register = ingested.extract.out / "registers" / "teacher_register.csv"
    other = IdPolicy(on_unlinkable=Unlinkable.QUARANTINE)
    with pytest.raises(
        UsageError,
        match=r"ingested under the ID policy \(SE; unlinkable IDs: "
        r"local.*a register under another \(SE; unlinkable "
        r"IDs: quarantine",
    ):
        ingest_register("teachers", register, data, key_file=ingested.key_file, policy=other)
    assert ingest_register(
        "teachers", register, data, key_file=ingested.key_file, policy=IdPolicy()
    ).snapshot_id


@pytest.mark.parametrize("linked", [False, True], ids=["copied", "linked"])
def test_a_key_in_the_data_directory_is_refused_at_ingest(
    ingested: Ingested, tmp_path: Path, capsys: pytest.CaptureFixture[str], linked: bool
) -> None:
    data = tmp_path / "data"
    outside = ["--key-file", str(ingested.key_file), "--data-dir", str(data)]
    assert run(["ingest", str(ingested.extract.out / "ss12000"), *outside]) == 0
    current = (data / "CURRENT").read_text()
    inside = data / "key.json"
    shutil.copy2(ingested.key_file, inside)
    key = inside
    if linked:
        key = tmp_path / "key-link.json"
        key.symlink_to(inside)
    capsys.readouterr()
    refused = (
        f"error: refusing to use the key file {key}{f' (which is {inside})' if linked else ''}: "
        f"it is inside the data directory {data}, where a copy or a backup of the data carries "
        "the key with it; move the key file out of the data directory (to "
        "~/.config/medler/key.json, say) and point --key-file or MEDLER_KEY_FILE at its new "
        "place"
    )
    in_place = ["--key-file", str(key), "--data-dir", str(data)]
    assert run(["ingest", str(ingested.extract.out / "ss12000"), *in_place]) == EXIT_INPUT
    assert capsys.readouterr().err.strip() == refused
    register = ingested.extract.out / "registers" / "teacher_register.csv"
    assert run(["ingest-register", "teachers", str(register), *in_place]) == EXIT_INPUT
    assert capsys.readouterr().err.strip() == refused
    assert (data / "CURRENT").read_text() == current
    assert run(["ingest-register", "teachers", str(register), *outside]) == 0


def test_strict_exits_65_and_a_lost_relation_is_a_loud_warning(
    ingested: Ingested, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.unit.linkage.oneroster.conftest import write_set

    folder = write_set(tmp_path / "set")
    text = (folder / "enrollments.csv").read_text(encoding="utf-8")
    (folder / "enrollments.csv").write_text(
        text.replace("u-tea,teacher", "u-tea,instructor"), encoding="utf-8"
    )
    key = ["--key-file", str(ingested.key_file), "--data-dir", str(tmp_path / "data")]
    assert run(["ingest", str(folder), *key]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "WARNING: no activity has a teacher" in out
    assert "'medler ingest --strict' refuses such an ingest" in out
    before = (tmp_path / "data" / "CURRENT").read_text(encoding="utf-8")
    assert run(["ingest", str(folder), *key, "--strict"]) == EXIT_INPUT
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: --strict: {folder} was not ingested, because no activity")
    assert "\n" not in err
    assert (tmp_path / "data" / "CURRENT").read_text(encoding="utf-8") == before
    assert run(["ingest", str(folder), *key, "--compat", "nonsense"]) == EXIT_USAGE
    assert "--compat nonsense is not a known quirk" in capsys.readouterr().err
