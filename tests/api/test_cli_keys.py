"""``medler keys``: init, rotate and show, run as a user would, with exact messages."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from api.cli import run
from api.cli._errors import EXIT_INPUT, EXIT_OUTPUT, EXIT_USAGE
from release.governance import Governance, connect_control_plane, default_url, set_up_office


@pytest.fixture(autouse=True)
def _no_ambient_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Never touch the real ~/.config: the default path points into tmp_path."""
    monkeypatch.delenv("MEDLER_KEY_FILE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def test_init_show_rotate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "keys" / "key.json"
    assert run(["keys", "init", "--key-file", str(path)]) == 0
    out = capsys.readouterr().out
    document = json.loads(path.read_text())
    key_id = document["key_id"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert out.splitlines()[0] == f"Created key {key_id} (version 1), readable by you only."
    assert f"  path:     {path}" in out
    assert f"Set MEDLER_KEY_FILE={path} so that medler finds this key." in out

    assert run(["keys", "show", "--key-file", str(path)]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert shown[0] == f"key id:   {key_id}"
    assert shown[1] == "version:  1"
    assert shown[2].startswith("created:  ") and shown[2].endswith(" UTC")
    assert shown[3] == f"path:     {path}"
    assert shown[4] == "replaces: -"

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
    rotated = json.loads(path.read_text())
    out = capsys.readouterr().out
    assert rotated["version"] == 2 and rotated["previous_key_id"] == key_id
    assert out.splitlines()[0] == (
        f"Rotated: key {rotated['key_id']} (version 2) replaces {key_id} (version 1)."
    )
    assert f"retire the snapshots made under {key_id}" in out


def _confirmed_rotation(data: Path, token_file: Path) -> tuple[Path, int]:
    """An admin (whose token is written to ``token_file``) and a statistician on the control
    plane in ``data``, and a rotation of the pseudonymisation key one proposed and the other
    confirmed."""
    data.mkdir(parents=True, exist_ok=True)
    gov = Governance(connect_control_plane(default_url(data)))
    office = set_up_office(gov, "keys", "Office")
    token_file.write_text(gov.issue_token(office.admin, office.admin.id).token)
    proposal = gov.propose_rotation(office.admin, "pseudonymisation")
    gov.decide(office.registrar, proposal, confirm=True)
    return token_file, proposal


def test_default_location(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["keys", "init"]) == 0
    path = tmp_path / "config" / "medler" / "key.json"
    assert path.exists()
    assert "Set MEDLER_KEY_FILE" not in capsys.readouterr().out
    assert run(["keys", "show"]) == 0
    assert f"path:     {path}" in capsys.readouterr().out


def test_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "elsewhere.json"
    monkeypatch.setenv("MEDLER_KEY_FILE", str(path))
    assert run(["keys", "init"]) == 0
    assert path.exists()
    assert "Set MEDLER_KEY_FILE" not in capsys.readouterr().out


def test_rotate_needs_yes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "key.json"
    run(["keys", "init", "--key-file", str(path)])
    before = path.read_bytes()
    capsys.readouterr()
    assert run(["keys", "rotate", "--approval", "1", "--key-file", str(path)]) == EXIT_USAGE
    assert capsys.readouterr().err == (
        "error: rotation replaces the key for good: pseudonyms under the new key do not match "
        "earlier ones, so every source must be ingested again and snapshots under the old key "
        "retired; run 'medler keys rotate --approval N --yes' to go ahead\n"
    )
    assert path.read_bytes() == before


def test_init_refuses_an_existing_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "key.json"
    run(["keys", "init", "--key-file", str(path)])
    capsys.readouterr()
    assert run(["keys", "init", "--key-file", str(path)]) == EXIT_OUTPUT
    assert capsys.readouterr().err == (
        f"error: key file {path} already exists; a key is never overwritten: use 'medler "
        "keys rotate' to replace it with a new version, or choose another path with "
        "--key-file\n"
    )


def test_init_refuses_the_data_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    key = data / "key.json"
    assert run(["keys", "init", "--key-file", str(key), "--data-dir", str(data)]) == EXIT_OUTPUT
    assert capsys.readouterr().err.startswith(
        f"error: refusing to create the key file {key} inside the data directory {data}"
    )
    assert not key.exists()


@pytest.mark.parametrize(
    ("prepare", "message"),
    [
        (None, "key file {path} does not exist; create one with 'medler keys init"),
        ("", "key file {path} is empty; restore it from your backup"),
        ("{", "key file {path} is not a valid medler key file (not JSON); restore it"),
        ("loose", "key file {path} can be read or changed by other users (mode 0644)"),
    ],
)
def test_show_refuses_a_bad_key_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], prepare: str | None, message: str
) -> None:
    path = tmp_path / "key.json"
    if prepare == "loose":
        run(["keys", "init", "--key-file", str(path)])
        path.chmod(0o644)
    elif prepare is not None:
        path.write_text(prepare)
        path.chmod(0o600)
    capsys.readouterr()
    assert run(["keys", "show", "--key-file", str(path)]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert err.startswith("error: " + message.format(path=path))
    assert err.count("\n") == 1


def test_show_and_rotate_refuse_a_key_copied_into_the_data_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The key's place is checked on every load, not only when it is made."""
    path = tmp_path / "keys" / "key.json"
    assert run(["keys", "init", "--key-file", str(path)]) == 0
    data = tmp_path / "data"
    data.mkdir()
    copy = data / "key.json"
    copy.write_bytes(path.read_bytes())
    copy.chmod(0o600)
    capsys.readouterr()
    assert run(["keys", "show", "--key-file", str(copy), "--data-dir", str(data)]) != 0
    assert "data directory" in capsys.readouterr().err
    token, approval = _confirmed_rotation(tmp_path / "control", tmp_path / "admin.token")
    assert (
        run(
            [
                "keys",
                "rotate",
                "--key-file",
                str(copy),
                "--yes",
                "--approval",
                str(approval),
                "--token-file",
                str(token),
                "--data-dir",
                str(data),
            ]
        )
        != 0
    )
    assert "data directory" in capsys.readouterr().err
