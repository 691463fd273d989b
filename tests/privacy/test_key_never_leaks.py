"""The key never appears in a repr, an error message, a log line, printed output, a pickle, a
snapshot or a database; raw IDs and pseudonyms never appear in an error message or a log."""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import pickle
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from api.cli import run
from pseudonymise import (
    CollisionError,
    KeyFile,
    KeyFileError,
    Pseudonymiser,
    UnlinkableIdError,
    check_collisions,
    create_key_file,
    load_key_file,
    rotate_key_file,
)
from tests.api.test_cli_keys import _confirmed_rotation

PIN = "194608239986"


def forms_of(secret: bytes) -> list[str]:
    """Every way the key could show up in text."""
    return [
        base64.b64encode(secret).decode(),
        base64.urlsafe_b64encode(secret).decode(),
        secret.hex(),
        secret.hex().upper(),
        secret.decode("latin-1"),
        repr(secret)[2:-1],
    ]


def assert_no_key(text: str | bytes, secret: bytes) -> None:
    blob = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    assert secret not in blob
    for form in forms_of(secret):
        assert form.encode("utf-8", "surrogatepass") not in blob


@pytest.fixture
def key(tmp_path: Path) -> KeyFile:
    return create_key_file(tmp_path / "keys" / "key.json")


@pytest.fixture
def everything_logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.DEBUG):
        yield caplog


def test_repr_and_str_hide_the_key(key: KeyFile) -> None:
    with Pseudonymiser(key, workers=1) as pseudonymiser:
        for shown in (repr(key), str(key), repr(pseudonymiser), repr(pseudonymiser.key_ref)):
            assert_no_key(shown, key.secret)
        assert "secret" not in repr(key)


def test_nothing_holding_the_key_can_be_pickled(key: KeyFile) -> None:
    with Pseudonymiser(key, workers=1) as pseudonymiser:
        for holder in (key, pseudonymiser):
            with pytest.raises(TypeError, match="holds key material and cannot be pickled"):
                pickle.dumps(holder)


def test_error_messages_never_quote_the_file(key: KeyFile, tmp_path: Path) -> None:
    document = json.loads(key.path.read_text())
    variants = {
        "loose": None,
        "wrong id": {**document, "key_id": "mk-0000000000000000"},
        "wrong format": {**document, "format": "x"},
        "wrong algorithm": {**document, "algorithm": "x"},
        "short key": {**document, "key": document["key"][:20]},
    }
    for name, variant in variants.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(variant if variant is not None else document))
        path.chmod(0o644 if variant is None else 0o600)
        with pytest.raises(KeyFileError) as refused:
            load_key_file(path)
        assert_no_key(str(refused.value), key.secret)
        assert document["key"][:8] not in str(refused.value)
        # No chained exception (a JSON or base64 error) travels with it into a traceback.
        error = refused.value
        assert error.__cause__ is None
        assert error.__context__ is None or error.__suppress_context__


def test_cli_output_and_logs_never_show_the_key(
    key: KeyFile,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    everything_logged: pytest.LogCaptureFixture,
) -> None:
    path = tmp_path / "cli-key.json"
    assert run(["keys", "init", "--key-file", str(path)]) == 0
    first = load_key_file(path)
    assert run(["keys", "show", "--key-file", str(path)]) == 0
    data = tmp_path / "data"
    token, approval = _confirmed_rotation(data, tmp_path / "admin.token")
    assert (
        run(
            [
                "keys",
                "rotate",
                "--key-file",
                str(path),
                "--yes",
                "--approval",
                str(approval),
                "--token-file",
                str(token),
                "--data-dir",
                str(data),
            ]
        )
        == 0
    )
    second = load_key_file(path)
    path.chmod(0o644)
    assert run(["keys", "show", "--key-file", str(path)]) != 0
    captured = capsys.readouterr()
    logged = "\n".join(record.getMessage() for record in everything_logged.records)
    for secret in (first.secret, second.secret):
        assert_no_key(captured.out + captured.err + logged, secret)


def test_pseudonymising_logs_nothing_identifying(
    key: KeyFile, everything_logged: pytest.LogCaptureFixture
) -> None:
    with Pseudonymiser(key, workers=1) as pseudonymiser:
        people = pseudonymiser.pseudonymise_people(
            "student",
            pl.Series([PIN, "194608239987"]),
            local_ids=pl.Series(["local-7", "local-8"]),
            source="org",
        )
        rotate_key_file(key.path)
    logged = "\n".join(r.getMessage() for r in everything_logged.records)
    assert_no_key(logged, key.secret)
    for value in (PIN, "local-8", *(str(p) for p in people["student_pid"])):
        assert value not in logged


def test_error_messages_never_quote_ids_or_pseudonyms(key: KeyFile) -> None:
    with Pseudonymiser(key, workers=1) as pseudonymiser:
        bad = ["194608239987", "20000101T220", "857209-0606"]
        with pytest.raises(UnlinkableIdError) as refused:
            pseudonymiser.pseudonymise("student", pl.Series([PIN, *bad]))
        for value in [PIN, *bad]:
            assert value not in str(refused.value)
        pid = pseudonymiser.pseudonymise_one("student", PIN)
    with pytest.raises(CollisionError) as collided:
        check_collisions(pl.Series([PIN, "195704289999"]), pl.Series([pid, pid]), domain="student")
    assert str(pid) not in str(collided.value) and PIN not in str(collided.value)


def test_snapshots_and_databases_record_the_key_id_only(key: KeyFile, tmp_path: Path) -> None:
    """What linkage stores, a pseudonymised table and the key reference, carries no key."""
    with Pseudonymiser(key, workers=1) as pseudonymiser:
        table = pl.DataFrame(
            {
                "student_pid": pseudonymiser.pseudonymise("student", pl.Series([PIN] * 3)),
                "group_pid": pseudonymiser.pseudonymise("group", pl.Series(["7A", "7B", "7A"])),
            }
        )
        reference = dataclasses.asdict(pseudonymiser.key_ref)
    assert reference == {"key_id": key.key_id, "version": key.version}
    snapshot = tmp_path / "snapshot"
    snapshot.mkdir()
    table.write_parquet(snapshot / "students.parquet")
    (snapshot / "manifest.json").write_text(json.dumps({"key": reference}))
    database = tmp_path / "control.sqlite"
    with sqlite3.connect(database) as connection:
        connection.execute("create table snapshots (key_id text, key_version integer)")
        connection.execute("insert into snapshots values (?, ?)", tuple(reference.values()))
    connection.close()
    for written in [*snapshot.iterdir(), database]:
        assert_no_key(written.read_bytes(), key.secret)
    assert key.key_id in (snapshot / "manifest.json").read_text()
