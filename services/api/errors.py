"""Every error the API answers is JSON `{"error": "..."}` with a status a client can act on."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from common.db import is_statement_timeout

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An error answered as JSON with `status`; `extra` fields join the body (e.g. batch_num on 409)."""

    def __init__(self, status: int, message: str, **extra: object) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def error_response(status: int, message: str, **extra: object):  # noqa: ANN201 - a Flask response
    """The JSON error response every failure path uses."""
    response = jsonify({"error": message, **extra})
    response.status_code = status
    return response


def register_error_handlers(app: Flask) -> None:
    """Turn ApiError, werkzeug's HTTP errors and unexpected exceptions into JSON answers."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):  # noqa: ANN202
        return error_response(exc.status, exc.message, **exc.extra)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):  # noqa: ANN202
        messages = {
            404: "not found",
            405: "method not allowed",
            413: "the upload is too large",
        }
        message = messages.get(exc.code) or (exc.description or exc.name).strip()
        if exc.code == 413 and app.config.get("MAX_UPLOAD_MB"):
            message = f"the upload is larger than the {app.config['MAX_UPLOAD_MB']} MB limit"
        return error_response(exc.code or 500, message)

    @app.errorhandler(OperationalError)
    def _database_down(exc: OperationalError):  # noqa: ANN202
        if is_statement_timeout(exc):
            logger.warning("query stopped by API_QUERY_TIMEOUT_SECONDS: %s", str(exc.orig)[:200])
            return error_response(503, "the query took too long; narrow the filters or try again later")
        logger.warning("database unavailable: %s", str(exc.orig)[:200])
        return error_response(503, "the database is unavailable; nothing was changed, try again shortly")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # noqa: ANN202
        logger.exception("unhandled error in request")
        return error_response(500, "internal error; the server log has the details")
