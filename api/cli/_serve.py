"""``medler serve``: the HTTP service (uvicorn), over the data directory or, with ``--dummy``,
over a synthetic snapshot made for query development."""

from __future__ import annotations

import shutil
import signal
import sys
import tempfile
from pathlib import Path

import uvicorn

from api.service import Settings, create_app
from api.service._dummy import prepare_dummy


def run_serve(*, data_dir: Path, host: str, port: int, dummy: bool, insecure_cookies: bool) -> None:
    folder: Path | None = None
    if dummy:
        folder = Path(tempfile.mkdtemp(prefix="medler-dummy-"))
        print(
            "dummy mode: building a synthetic snapshot (every answer is labelled dummy) ...",
            file=sys.stderr,
        )
        setup = prepare_dummy(folder)
        print(
            f"dummy researcher token: {setup.researcher_token}\n"
            f"dummy DPO token:        {setup.dpo_token}\n"
            "project: dummy",
            file=sys.stderr,
        )
        settings = Settings(
            data_dir=setup.data_dir,
            mode="dummy",
            control_url=None,
            secure_cookies=not insecure_cookies,
        )
    else:
        settings = Settings(
            data_dir=data_dir,
            secure_cookies=not insecure_cookies,
            mode="development" if insecure_cookies else "production",
        )
    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again under the handler
    # that was there before it: make that an ordinary exit, so the dummy folder is removed
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="info", access_log=False)
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
