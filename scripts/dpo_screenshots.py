"""Write screenshots of the DPO's pages to ``docs/images/dpo-*.png`` for the tutorial.

It runs the browser tour (``tests/e2e/test_dpo_pages.py::test_a_tour_of_the_dpo_pages_in_
screenshots``): a service over a synthetic municipality, a few releases, an approved and a held
request, and each page checked and screenshotted in Debian's Chromium. Run it after
``source scripts/_browser.sh``::

    .venv/bin/python scripts/dpo_screenshots.py [--out docs/images]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOUR = "tests/e2e/test_dpo_pages.py::test_a_tour_of_the_dpo_pages_in_screenshots"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "docs" / "images",
        help="where the PNGs go (default: docs/images)",
    )
    out = parser.parse_args().out.resolve()
    env = {**os.environ, "MEDLER_DPO_SCREENSHOTS": str(out)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", TOUR],
        cwd=ROOT,
        env=env,
        check=False,
    )
    written = sorted(out.glob("dpo-*.png"))
    if done.returncode != 0 or not written:
        sys.stderr.write("no screenshots written: the tour failed or was skipped (see above)\n")
        return done.returncode or 1
    for path in written:
        sys.stdout.write(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
