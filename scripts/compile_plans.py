"""Write the compiled plans of a build (linkage/research/plans/) from the expressions.

    python scripts/compile_plans.py            # write them
    python scripts/compile_plans.py --check    # exit 1 if the kept plans are not the code's

Run it after changing anything that decides a build's statements (``linkage._plans.SOURCES``:
the research expressions, the backend, the build, the incremental build's parts and scope
tables, the canonical schemas) or the Ibis, SQLGlot or DuckDB version. Until then a build
compiles its expressions as before, only slower, and ``tests/unit/linkage/test_plans.py``
fails: the kept plans are not the running code's.

Ibis names some columns in the order of a Python set, which differs from one process to the
next (string hashing is randomised); the plans are compiled with ``PYTHONHASHSEED=0``, so the
same code always gives the same file.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from linkage._plans import PLANS, VARIANTS, compile_plan, save_plan  # noqa: E402  (path set)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args()
    if os.environ.get("PYTHONHASHSEED") != "0":  # the same text from the same code
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        os.execve(sys.executable, [sys.executable, __file__, *sys.argv[1:]], env)
    stale = []
    for name in VARIANTS:
        plan = compile_plan(name)
        kept = PLANS / f"{name}.json"
        if args.check:
            same = kept.is_file() and kept.read_text(encoding="utf-8") == plan.to_json()
            if not same:
                stale.append(kept.name)
            continue
        path = save_plan(plan, name)
        sys.stdout.write(f"{path.relative_to(REPO)}: {len(plan.steps)} steps\n")
    if stale:
        sys.stderr.write(
            f"stale compiled plans: {', '.join(stale)}; run python scripts/compile_plans.py\n"
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
