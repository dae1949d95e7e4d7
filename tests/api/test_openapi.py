"""The OpenAPI document at /openapi.json: valid, open without a key, and true to the app's routes."""

from __future__ import annotations

import dataclasses
import re

import pytest
from openapi_spec_validator import validate

from common.config import Settings
from services.api import create_app

#: Methods Flask adds to every route by itself.
IMPLICIT_METHODS = {"HEAD", "OPTIONS"}
#: Operations open without an API key (the document must say `security: []` for exactly these).
OPEN_OPERATIONS = {("/health", "get"), ("/ready", "get"), ("/openapi.json", "get"), ("/", "get"),
                   ("/assets/{name}", "get")}
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def openapi_path(rule: str) -> str:
    """A Flask rule in OpenAPI form: `<int:batch_num>` and `<path:name>` become `{batch_num}` and `{name}`."""
    return re.sub(r"<(?:[a-z_]+:)?([A-Za-z_][A-Za-z0-9_]*)>", r"{\1}", rule)


def app_operations(app) -> set[tuple[str, str]]:
    """(path, method) of every route the app answers, but the static files and Flask's implicit methods."""
    return {
        (openapi_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - IMPLICIT_METHODS
    }


def documented_operations(document: dict) -> set[tuple[str, str]]:
    """(path, method) of every operation in the document."""
    return {(path, method) for path, item in document["paths"].items() for method in item if method in HTTP_METHODS}


@pytest.fixture
def document(client) -> dict:
    """The document as the app serves it."""
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.json


def test_openapi_rule_conversion():
    """Converters and plain variables both become OpenAPI path templates."""
    assert openapi_path("/batches/<int:batch_num>/errors") == "/batches/{batch_num}/errors"
    assert openapi_path("/categories/<path:name>/settings") == "/categories/{name}/settings"
    assert openapi_path("/x/<name>") == "/x/{name}"


def test_document_is_valid_openapi(document):
    """The served document passes the OpenAPI 3.1 specification validator."""
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_route_is_documented(app, document):
    """Each route of the app (with each of its methods) is an operation of the document."""
    missing = app_operations(app) - documented_operations(document)
    assert not missing, f"routes missing from services/api/openapi.yaml: {sorted(missing)}"


def test_every_documented_operation_exists(app, document):
    """Each operation of the document is a route of the app."""
    extra = documented_operations(document) - app_operations(app)
    assert not extra, f"documented operations the app does not have: {sorted(extra)}"


def test_path_parameters_match_the_template(document):
    """Each `{x}` of a path is a required path parameter `x`, and no other path parameter is declared."""
    parameters = document["components"]["parameters"]
    for path, item in document["paths"].items():
        for method in set(item) & HTTP_METHODS:
            declared = [parameters[p["$ref"].rsplit("/", 1)[-1]] if "$ref" in p else p
                        for p in [*item.get("parameters", []), *item[method].get("parameters", [])]]
            names = {p["name"] for p in declared if p["in"] == "path"}
            assert names == set(re.findall(r"{(\w+)}", path)), (path, method)
            assert all(p["required"] for p in declared if p["in"] == "path"), (path, method)


def test_security_applies_to_all_but_the_open_operations(document):
    """X-API-Key is the global requirement; exactly the probes, the document and the web app opt out."""
    assert document["security"] == [{"ApiKey": []}]
    assert document["components"]["securitySchemes"]["ApiKey"] == {
        **document["components"]["securitySchemes"]["ApiKey"], "type": "apiKey", "in": "header", "name": "X-API-Key"}
    opted_out = {(path, method) for path, method in documented_operations(document)
                 if document["paths"][path][method].get("security") == []}
    assert opted_out == OPEN_OPERATIONS


def test_every_error_response_has_the_error_schema(document):
    """Each documented 4xx/5xx answer is JSON whose schema requires an `error` string."""
    responses = document["components"]["responses"]
    for path, method in documented_operations(document):
        for status, answer in document["paths"][path][method]["responses"].items():
            if int(status) < 400:
                continue
            answer = responses[answer["$ref"].rsplit("/", 1)[-1]] if "$ref" in answer else answer
            schema = answer["content"]["application/json"]["schema"]
            assert _requires_error_string(schema, document), (path, method, status)


def _requires_error_string(schema: dict, document: dict) -> bool:
    if "$ref" in schema:
        return _requires_error_string(document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]], document)
    if "allOf" in schema:
        return any(_requires_error_string(part, document) for part in schema["allOf"])
    return "error" in schema.get("required", []) and schema["properties"]["error"]["type"] == "string"


def test_document_is_open_with_an_api_key_set(settings: Settings, engine, redis):
    """With API_KEY set, /openapi.json still answers without a key (like /health) while data needs it."""
    keyed = create_app(dataclasses.replace(settings, api_key="s3cret"), engine=engine, redis=redis)
    client = keyed.test_client()
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/metadata").status_code == 401
    assert client.get("/metadata", headers={"X-API-Key": "s3cret"}).status_code == 200


def test_exactly_the_secured_writes_document_403(document):
    """403 (a read-only key) is documented on every secured operation that changes something, and only there."""
    with_403 = {(path, method) for path, method in documented_operations(document)
                if "403" in document["paths"][path][method]["responses"]}
    writes = {(path, method) for path, method in documented_operations(document) - OPEN_OPERATIONS
              if method not in ("get", "head", "options")}
    assert with_403 == writes


def test_documented_403s_are_what_a_read_only_key_gets(settings: Settings, engine, redis, document):
    """With READ_API_KEY, each operation documenting 403 answers it, as a JSON error."""
    keys = dataclasses.replace(settings, api_key="full-key-123", read_api_key="read-key-456")
    client = create_app(keys, engine=engine, redis=redis).test_client()
    for path, method in sorted(documented_operations(document)):
        if "403" not in document["paths"][path][method]["responses"]:
            continue
        url = path.replace("{name}", "store-1")
        response = client.open(url, method=method.upper(), json={}, headers={"X-API-Key": "read-key-456"})
        assert response.status_code == 403 and response.json["error"], (path, method)

