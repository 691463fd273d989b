#!/usr/bin/env bash
# Install medler with its development tools into .venv, check the code and run every test
# (with a throwaway PostgreSQL server for the control plane's tests, Chromium for the web pages'
# tests, Java for the Spark engine's and R for the R client's).
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS="[dev,spark]" source scripts/_venv.sh
echo "== ruff"; .venv/bin/ruff check . && .venv/bin/ruff format --check .
echo "== import contracts"; .venv/bin/lint-imports
echo "== mypy"; .venv/bin/mypy
source scripts/_postgres.sh
source scripts/_browser.sh
source scripts/_java.sh
source scripts/_r.sh
# not exec: the PostgreSQL server is stopped when this shell exits
# over both cores (pytest-xdist), each test file on one worker so its fixtures are made once
echo "== pytest"; status=0
.venv/bin/python -m pytest --numprocesses=auto --maxprocesses=4 --dist=loadfile "$@" || status=$?
exit "$status"
