# Sourced by the other scripts: a virtual environment in .venv with medler and its pinned
# dependencies installed. EXTRAS (e.g. "[dev]") selects optional dependency groups.
set -euo pipefail
PYTHON="${PYTHON:-python3.11}"
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "error: $PYTHON was not found; medler needs Python 3.11 (set PYTHON=/path/to/python3.11)" >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check pip==25.3
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
    -c requirements/constraints.txt -e ".${EXTRAS:-}"
