"""The researcher's tutorial, run as written: every Python block of
``docs/tutorials/first-release.md`` in order, in one namespace, against the dummy service
(``medler serve --dummy``'s snapshot and tokens, served on a free local port)."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import httpx
import pytest

from api.client import Client
from api.service import Settings, create_app
from api.service._dummy import prepare_dummy
from tests.api.test_client import serving

TUTORIAL = Path(__file__).resolve().parents[2] / "docs" / "tutorials" / "first-release.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


@pytest.mark.slow
def test_every_python_block_of_the_researcher_tutorial_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = BLOCK.findall(TUTORIAL.read_text(encoding="utf-8"))
    assert len(blocks) >= 10
    setup = prepare_dummy(tmp_path / "dummy", students=300, weeks=2)
    app = create_app(Settings(data_dir=setup.data_dir, mode="dummy", secure_cookies=False))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    with serving(app) as url:
        monkeypatch.setenv("MEDLER_URL", url)
        monkeypatch.setenv("MEDLER_TOKEN", setup.researcher_token)
        monkeypatch.setenv("MEDLER_DPO_TOKEN", setup.dpo_token)
        monkeypatch.delenv("MEDLER_PROJECT", raising=False)
        namespace: dict[str, object] = {"__name__": "tutorial"}
        opened: list[Client | httpx.Client] = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the tutorial's dummy-data warning
            for number, block in enumerate(blocks, start=1):
                try:
                    exec(
                        compile(block, f"{TUTORIAL.name} python block {number}", "exec"), namespace
                    )
                    kept = (Client, httpx.Client)
                    opened += [
                        v for v in namespace.values() if isinstance(v, kept) and v not in opened
                    ]
                except Exception as error:  # name the block that stumbles
                    pytest.fail(
                        f"python block {number} of {TUTORIAL.name} failed: "
                        f"{type(error).__name__}: {error}\n{block}"
                    )
        # a reader's session ends with the interpreter; the test closes what the blocks opened
        for value in opened:
            value.close()
