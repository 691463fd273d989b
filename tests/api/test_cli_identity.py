"""The command line acts as a registered person who proves it with a token: the first admin
on an empty control plane, people added under the two-person rules, a key rotated only under a
confirmed proposal, and nothing done on a name alone."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from api.cli import run
from api.cli._errors import EXIT_USAGE
from release.governance import connect_control_plane, default_url, verify_audit


def _token(tmp_path: Path, who: str, args: list[str], capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / f"{who}.token"
    assert run([*args, "--token-out", str(path)]) == 0, capsys.readouterr().err
    assert path.stat().st_mode & 0o077 == 0
    return path


def test_the_office_acts_by_token_and_two_people_rotate_a_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("MEDLER_DATA_DIR", str(data))
    monkeypatch.delenv("MEDLER_TOKEN", raising=False)
    monkeypatch.delenv("MEDLER_TOKEN_FILE", raising=False)
    # nothing on a name alone: there is no --by, and no token means no act
    assert (
        run(["person", "add", "anna", "--role", "admin", "--name", "A", "--organisation", "O"])
        == EXIT_USAGE
    )
    assert "acts as a registered person" in capsys.readouterr().err
    admin = _token(
        tmp_path,
        "admin",
        ["admin", "init", "root", "--name", "Root", "--organisation", "Office"],
        capsys,
    )
    assert run(["admin", "init", "again", "--name", "R", "--organisation", "O"]) != 0
    assert "people are registered already" in capsys.readouterr().err
    # the first statistician is added at once; the second is a proposal the first confirms
    assert (
        run(
            [
                "person",
                "add",
                "stina",
                "--role",
                "statistician",
                "--name",
                "S",
                "--organisation",
                "O",
                "--token-file",
                str(admin),
            ]
        )
        == 0
    )
    assert "statistician stina: done" in capsys.readouterr().out
    stina = _token(
        tmp_path, "stina", ["token", "issue", "stina", "--token-file", str(admin)], capsys
    )
    assert (
        run(
            [
                "person",
                "add",
                "sven",
                "--role",
                "statistician",
                "--name",
                "S",
                "--organisation",
                "O",
                "--token-file",
                str(admin),
            ]
        )
        == 0
    )
    proposal = re.search(r"proposal (\d+)", capsys.readouterr().out)
    assert proposal is not None
    assert run(["proposal", "confirm", proposal[1], "--token-file", str(admin)]) != 0
    assert "a second person confirms it" in capsys.readouterr().err
    assert run(["proposal", "confirm", proposal[1], "--token-file", str(stina)]) == 0
    # a rotation: proposed by the admin, refused until confirmed, confirmed by stina
    key = tmp_path / "keys" / "key.json"
    assert run(["keys", "init", "--key-file", str(key), "--data-dir", str(data)]) == 0
    before = key.read_bytes()
    capsys.readouterr()
    assert run(["proposal", "rotate-key", "pseudonymisation", "--token-file", str(admin)]) == 0
    rotation = re.search(r"proposal (\d+)", capsys.readouterr().out)
    assert rotation is not None
    rotate = [
        "keys",
        "rotate",
        "--yes",
        "--approval",
        rotation[1],
        "--key-file",
        str(key),
        "--token-file",
        str(admin),
    ]
    assert run(rotate) != 0
    assert "a second person confirms a rotation" in capsys.readouterr().err
    assert key.read_bytes() == before
    assert run(["proposal", "confirm", rotation[1], "--token-file", str(stina)]) == 0
    assert run(rotate) == 0
    assert json.loads(key.read_text())["version"] == 2
    assert run(rotate) != 0  # spent
    # the token list shows ids, never secrets
    capsys.readouterr()
    assert run(["token", "list", "--token-file", str(admin)]) == 0
    listed = capsys.readouterr().out
    assert "root" in listed and "stina" in listed
    assert admin.read_text().strip().split("_", 2)[2] not in listed
    # every act is in the chain, by the person who did it
    assert verify_audit(connect_control_plane(default_url(data))) > 8
