"""The service's OpenAPI document, made without any data (a throwaway, empty data directory):
``python -m api.service._openapi > docs/reference/openapi.json`` refreshes the committed
snapshot that a test compares against."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from api.service._app import create_app, make_services
from api.service._settings import Settings


def openapi_document() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="medler-openapi-") as folder:
        services = make_services(Settings(data_dir=Path(folder), control_url=None))
        document = create_app(services=services).openapi()
        services.governance.engine.dispose()
        return document


def main() -> None:
    json.dump(openapi_document(), sys.stdout, indent=2, sort_keys=True, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
