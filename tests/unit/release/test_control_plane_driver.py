"""The control plane's URL: a missing driver, an unknown one or a malformed URL is the user's
to fix (one line that says what to install or write), never reported as a bug in medler."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from api.cli import run
from api.cli._errors import EXIT_USER_ERROR
from medler.errors import MedlerUserError
from release.governance import connect_control_plane

URL = "postgresql+psycopg://medler:s3cret-password@db.example:5432/medler_control"
FIX = (
    "pip install 'medler[postgres]' "
    "(from a clone: pip install -c requirements/constraints.txt -e '.[postgres]')"
)


@pytest.fixture
def no_psycopg(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if psycopg were not installed: ``import psycopg`` raises ModuleNotFoundError."""
    monkeypatch.setitem(sys.modules, "psycopg", None)


@pytest.mark.usefixtures("no_psycopg")
def test_a_missing_psycopg_names_the_driver_and_the_extra() -> None:
    with pytest.raises(MedlerUserError) as refused:
        connect_control_plane(URL)
    assert str(refused.value) == (
        "the control-plane URL (MEDLER_CONTROL_URL) uses the driver 'postgresql+psycopg', but "
        f"its Python module (psycopg) cannot be imported; install medler with its postgres "
        f"extra: {FIX}"
    )
    assert "s3cret-password" not in str(refused.value)


def test_another_missing_driver_is_steered_to_psycopg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg2", None)
    with pytest.raises(MedlerUserError) as refused:
        connect_control_plane("postgresql://medler@db.example/medler_control")
    assert str(refused.value) == (
        "the control-plane URL (MEDLER_CONTROL_URL) uses the driver 'postgresql', but its "
        "Python module (psycopg2) cannot be imported; write the URL as "
        f"postgresql+psycopg://… and install medler with its postgres extra: {FIX}"
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "not a database url",
            "the control-plane URL (MEDLER_CONTROL_URL) is not a database URL; write it as "
            "postgresql+psycopg://USER@HOST/DATABASE, or leave it unset for the SQLite file in "
            "the data directory",
        ),
        (
            "postgres://medler:s3cret-password@db.example/medler_control",
            "the control-plane URL (MEDLER_CONTROL_URL) names the driver 'postgres', which is "
            "not one SQLAlchemy knows; medler's control plane runs on sqlite:///PATH or "
            "postgresql+psycopg://USER@HOST/DATABASE",
        ),
    ],
)
def test_a_url_that_cannot_work_is_a_user_error(url: str, message: str) -> None:
    with pytest.raises(MedlerUserError) as refused:
        connect_control_plane(url)
    assert str(refused.value) == message


@pytest.mark.usefixtures("no_psycopg")
def test_the_cli_prints_it_as_a_user_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MEDLER_CONTROL_URL", URL)
    code = run(["audit", "verify", "--data-dir", str(tmp_path / "data")])
    err = capsys.readouterr().err
    assert code == EXIT_USER_ERROR
    assert err.startswith("error: the control-plane URL (MEDLER_CONTROL_URL) uses the driver ")
    assert "pip install 'medler[postgres]'" in err
    assert "bug" not in err and "Traceback" not in err and "s3cret-password" not in err
    assert err.count("\n") == 1
