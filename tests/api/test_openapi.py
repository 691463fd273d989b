"""The OpenAPI document: complete (a description and examples on every model, a summary on
every route, every error answer documented), its examples valid against their own schemas, and
identical to the committed snapshot in docs/reference/openapi.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from openapi_schema_validator import OAS31Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from api.service._openapi import openapi_document

SNAPSHOT = Path(__file__).resolve().parents[2] / "docs" / "reference" / "openapi.json"
REFRESH = "python -m api.service._openapi > docs/reference/openapi.json"
PUBLIC = ("/v1/health", "/v1/register")  # answered without a token


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi_document()


def test_the_document_matches_the_committed_snapshot(document: dict[str, Any]) -> None:
    committed = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert document == committed, f"the API changed: review it, then refresh with `{REFRESH}`"


def test_every_model_has_a_description_and_examples(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    missing = {
        name: [k for k in ("description", "examples") if not schema.get(k)]
        for name, schema in schemas.items()
    }
    assert {n: m for n, m in missing.items() if m} == {}
    assert len(schemas) >= 30


def test_every_route_has_a_summary_and_documented_errors(document: dict[str, Any]) -> None:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary"), (method, path)
            if path in PUBLIC:
                assert "security" not in operation, (method, path)
                continue
            for status in ("401", "403", "422", "429"):
                answer = operation["responses"].get(status)
                assert answer is not None, (method, path, status)
                ref = answer["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorOut"), (method, path, status)
            security = operation.get("security")
            assert security and "HTTPBearer" in security[0], (method, path)


def test_every_example_is_valid_against_its_model(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    registry = Registry().with_resource(
        "urn:medler",
        Resource(contents={"components": {"schemas": schemas}}, specification=DRAFT202012),
    )
    checked = 0
    for name, schema in schemas.items():
        body = {k: v for k, v in schema.items() if k != "examples"}
        text = json.dumps(body).replace('"#/components/', '"urn:medler#/components/')
        validator = OAS31Validator(json.loads(text), registry=registry)
        for example in schema.get("examples", []):
            errors = [e.message for e in validator.iter_errors(example)]
            assert errors == [], (name, example, errors)
            checked += 1
    assert checked >= 30
