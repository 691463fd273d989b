#!/usr/bin/env bash
# Install medler with its development tools into .venv, check the code and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS="[dev]" source scripts/_venv.sh
echo "== ruff"; .venv/bin/ruff check . && .venv/bin/ruff format --check .
echo "== import contracts"; .venv/bin/lint-imports
echo "== mypy"; .venv/bin/mypy
echo "== pytest"; exec .venv/bin/python -m pytest "$@"
