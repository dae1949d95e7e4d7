"""Mapping profiles: save a named column mapping, list them."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from common.mapping import MappingError
from services.api import mappings, services
from services.api.errors import ApiError
from services.api.params import json_object, reject_unknown

blueprint = Blueprint("mappings", __name__)


@blueprint.post("/mappings")
def save():  # noqa: ANN201
    """Create (201) or replace (200) the profile {"name": ..., "mapping": {...}}."""
    body = json_object(request, required=("name", "mapping"))
    try:
        profile, created = mappings.save_profile(services().sessions, body.get("name"), body.get("mapping"))
    except MappingError as exc:
        raise ApiError(400, str(exc)) from None
    return jsonify(profile), 201 if created else 200


@blueprint.get("/mappings")
def index():  # noqa: ANN201
    """Every saved profile."""
    reject_unknown(request.args, ())
    with services().sessions() as session:
        return jsonify(mappings.list_profiles(session))
