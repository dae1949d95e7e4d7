"""The web app: the built single-page app when there is one, else the plain upload page."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, send_from_directory

from common.config import PROJECT_ROOT
from services.api.errors import ApiError

blueprint = Blueprint("frontend", __name__)

BUILT = PROJECT_ROOT / "frontend" / "dist"
PLAIN = PROJECT_ROOT / "frontend" / "plain"


def _root() -> Path:
    return BUILT if (BUILT / "index.html").is_file() else PLAIN


@blueprint.get("/")
def index():  # noqa: ANN201
    """The landing page, which carries the upload control."""
    return send_from_directory(_root(), "index.html", max_age=0)


@blueprint.get("/assets/<path:name>")
def asset(name: str):  # noqa: ANN201
    """Static files of the web app (send_from_directory refuses paths outside the folder)."""
    folder = _root() / "assets"
    if not folder.is_dir():
        raise ApiError(404, "not found")
    return send_from_directory(folder, name, max_age=3600)
