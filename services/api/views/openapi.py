"""GET /openapi.json: the OpenAPI document of this API (services/api/openapi.yaml), open like /health."""

from __future__ import annotations

import functools
from pathlib import Path

import yaml
from flask import Blueprint, jsonify

blueprint = Blueprint("openapi", __name__)

#: The document, kept as YAML next to the API it describes.
DOCUMENT = Path(__file__).resolve().parents[1] / "openapi.yaml"


@functools.cache
def openapi_document() -> dict[str, object]:
    """The OpenAPI document as a dict, read from the package once per process."""
    with DOCUMENT.open(encoding="utf-8") as fileobj:
        return yaml.safe_load(fileobj)


@blueprint.get("/openapi.json")
def openapi():  # noqa: ANN201
    """The OpenAPI 3.1 document of every route."""
    return jsonify(openapi_document())
