"""POST /upload: a file in, a queued batch out."""

from __future__ import annotations

import errno

from flask import Blueprint, jsonify, request

from common.fileformat import FileProblem
from common.mapping import MappingError
from common.storage import PendingUpload, StoreUnavailable, UploadTooLarge
from services.api import services
from services.api.errors import ApiError
from services.api.intake import accept_upload
from services.api.mappings import upload_mapping
from services.api.params import json_value

blueprint = Blueprint("uploads", __name__)


@blueprint.post("/upload")
def upload():  # noqa: ANN201
    """202 with the new batch_num; 409 with the original batch_num for an exact duplicate.

    Optional form fields: `mapping` (a JSON column mapping) or `mapping_name` (a saved profile).
    """
    deps = services()
    try:
        received = request.files.get("file")
    except UploadTooLarge as exc:
        raise ApiError(413, str(exc)) from None
    except OSError as exc:
        raise _storage_error(exc) from None
    if received is None or not received.filename:
        raise ApiError(400, "send the file as multipart/form-data field 'file'")
    if not isinstance(received.stream, PendingUpload):
        raise ApiError(400, "send the file as multipart/form-data field 'file'")
    mapping_text = request.form.get("mapping")
    if mapping_text is not None and mapping_text.strip():
        json_value(mapping_text, "mapping")  # hostile JSON (deep nesting, lone surrogates) is refused first
    try:
        with deps.sessions() as session:
            mapping = upload_mapping(session, mapping_text, request.form.get("mapping_name"))
        accepted = accept_upload(received.stream, received.filename, mapping=mapping, settings=deps.settings,
                                 store=deps.store, sessions=deps.sessions, redis=deps.redis)
    except MappingError as exc:
        raise ApiError(400, str(exc)) from None
    except FileProblem as exc:
        raise ApiError(exc.status, exc.message) from None
    except OSError as exc:
        raise _storage_error(exc) from None
    if not accepted.created:
        return jsonify({"error": "duplicate file", "batch_num": accepted.batch_num}), 409
    return jsonify({"message": "file accepted", "batch_num": accepted.batch_num}), 202


def _storage_error(exc: OSError) -> ApiError:
    if isinstance(exc, StoreUnavailable):
        return ApiError(503, f"the upload store is unavailable ({exc}); nothing was stored")
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return ApiError(507, "the upload store is full; nothing was stored")
    return ApiError(503, f"the upload store is not writable ({exc.strerror or type(exc).__name__}); "
                         "nothing was stored")
