#!/usr/bin/env bash
# Install medler into .venv and run the demo on embedded defaults (./medler-data, SQLite).
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS="" source scripts/_venv.sh
exec .venv/bin/medler demo "$@"
