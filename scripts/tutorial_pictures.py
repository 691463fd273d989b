"""Make the pictures of the researcher tutorial's "field's questions" again.

Runs every Python block of ``docs/tutorials/first-release.md`` in order, as its test does,
against the dummy service (a synthetic municipality, served on a free local port), then saves
the chart ``plot()`` draws for each answer to ``docs/images/question-*.png``::

    .venv/bin/python scripts/tutorial_pictures.py [--students 1000] [--out docs/images]
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import uvicorn

from api.service import Settings, create_app
from api.service._dummy import prepare_dummy

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorials" / "first-release.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
# the answer's name in the tutorial -> (its picture, what plot() is asked)
PICTURES: dict[str, tuple[str, dict[str, Any]]] = {
    "by_month": ("question-absence-by-month", {"measure": "mean_absence_rate_reported"}),
    "over_20": ("question-over-20-by-school", {}),
    "certified": ("question-certified-minutes", {}),
    "teachers": ("question-teachers-in-maths", {}),
    "turnover": ("question-turnover", {"measure": "share_turnover_hit"}),
    "profiles": (
        "question-absence-bands",
        {"measure": ["ratio_certified_minutes_minutes", "mean_merit_value"]},
    ),
    "spread": ("question-days-absent", {}),
}


def _serve(app: Any) -> tuple[str, uvicorn.Server, threading.Thread]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise SystemExit("the dummy service did not start")
        time.sleep(0.01)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        os.environ.setdefault("MEDLER_AUDIT_KEY_FILE", str(folder / "keys" / "audit-key.json"))
        setup = prepare_dummy(folder / "dummy", students=args.students, weeks=4)
        app = create_app(Settings(data_dir=setup.data_dir, mode="dummy", secure_cookies=False))
        url, server, thread = _serve(app)
        os.environ.update(
            {
                "MEDLER_URL": url,
                "MEDLER_TOKEN": setup.researcher_token,
                "MEDLER_DPO_TOKEN": setup.dpo_token,
            }
        )
        os.environ.pop("MEDLER_PROJECT", None)
        (folder / "work").mkdir()
        os.chdir(folder / "work")
        namespace: dict[str, Any] = {"__name__": "tutorial"}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                for number, block in enumerate(BLOCK.findall(TUTORIAL.read_text("utf-8")), 1):
                    exec(compile(block, f"{TUTORIAL.name} block {number}", "exec"), namespace)
                    plt.close("all")
            args.out.mkdir(parents=True, exist_ok=True)
            for name, (picture, options) in PICTURES.items():
                drawn = namespace[name].plot(**options)
                figure = getattr(drawn, "figure", drawn)
                figure.savefig(args.out / f"{picture}.png", dpi=110, bbox_inches="tight")
                plt.close("all")
                sys.stdout.write(f"{args.out / picture}.png\n")
        finally:
            server.should_exit = True
            thread.join(timeout=30)


if __name__ == "__main__":
    main()
