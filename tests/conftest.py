"""Fixtures shared by every test folder.

Test material from outside the project is read in place from ``../shared`` (beside the
repository); a test that needs it is skipped, with the reason, when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# pytest-xdist's workers are given COLUMNS=80 and LINES=24; the command line would then wrap its
# tables at 80 columns, where a run in one process (output to a pipe) prints them whole
# (``api/cli/_console.py``). The workers print as that run does.
if os.environ.get("PYTEST_XDIST_WORKER"):
    for name in ("COLUMNS", "LINES"):
        os.environ.pop(name, None)

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"


def shared_path(relative: str) -> Path:
    """A path under ``../shared``; skips the calling test when it does not exist."""
    path = SHARED_DIR / relative
    if not path.exists():
        pytest.skip(
            f"external test material ../shared/{relative} is not present beside the repository"
        )
    return path


@pytest.fixture
def shared():
    """``shared("testdata/...")`` as a fixture: the path, or a skip when it is absent."""
    return shared_path


@pytest.fixture(autouse=True, scope="session")
def _audit_key_outside_home(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The audit key (and, beside it, each control plane's anchor file) in a folder of the
    test run's own, never the user's configuration; subprocesses inherit it."""
    import os

    folder = tmp_path_factory.mktemp("audit-key")
    os.environ.setdefault("MEDLER_AUDIT_KEY_FILE", str(folder / "audit-key.json"))
