"""The HTTP API: uploads in; batches, observations, categories and forecasts out. `create_app()` is the factory."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Flask, Request, current_app, g
from redis import Redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from common.config import Settings, load_settings, mask_url
from common.db import create_schema, is_mysql, make_engine, make_session_factory
from common.logs import configure_logging
from common.metrics import recorder
from common.queue import connect
from common.storage import PendingUpload, UploadStore, open_store
from services.api.cors import register_cors
from services.api.errors import register_error_handlers
from services.api.metrics import register_metrics

logger = logging.getLogger(__name__)

#: Room for the multipart envelope around the file itself.
_ENVELOPE_BYTES = 1024 * 1024


@dataclass
class Services:
    """What the views need, built once per app and reached through `services()`."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    redis: Redis
    store: UploadStore
    #: The read replica (READ_DATABASE_URL), or the primary's engine and sessions when there is none.
    read_engine: Engine
    read_sessions: sessionmaker[Session]


def services() -> Services:
    """The current app's dependencies."""
    return current_app.extensions["castflow"]


class StreamingUploadRequest(Request):
    """Writes uploaded files straight into the upload store while hashing them (never whole in memory)."""

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):  # noqa: ANN001, ANN202
        deps = services()
        pending = deps.store.begin(deps.settings.max_upload_bytes)
        g.setdefault("pending_uploads", []).append(pending)
        return pending


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    redis: Redis | None = None,
    store: UploadStore | None = None,
    read_engine: Engine | None = None,
) -> Flask:
    """Build the API. With no arguments everything comes from the environment (gunicorn's entry)."""
    if settings is None:
        settings = load_settings()
        configure_logging(settings)
    if engine is None:
        engine = make_engine(settings.database_url, statement_timeout_s=settings.api_query_timeout_seconds,
                             pre_ping=False)
    _create_schema(engine, settings.database_url)
    if read_engine is None:
        read_engine = _replica_engine(settings) or engine
    app = Flask(__name__, static_folder=None)
    app.request_class = StreamingUploadRequest
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_upload_bytes + _ENVELOPE_BYTES,
        MAX_UPLOAD_MB=settings.max_upload_mb,
        JSON_SORT_KEYS=False,
    )
    app.json.sort_keys = False
    sessions = make_session_factory(engine)
    app.extensions["castflow"] = Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        redis=redis if redis is not None else connect(settings.redis_url),
        store=store or open_store(settings),
        read_engine=read_engine,
        read_sessions=sessions if read_engine is engine else make_session_factory(read_engine),
    )
    register_error_handlers(app)
    register_cors(app, settings.cors_origin_list)
    register_metrics(app, recorder(settings, app.extensions["castflow"].redis))
    _register_views(app)
    app.teardown_request(_discard_unfinished_uploads)
    _log_start(settings)
    return app


def _replica_engine(settings: Settings) -> Engine | None:
    """The read replica's engine (READ_DATABASE_URL), with the API's statement timeout; None without one."""
    if not settings.read_database_url:
        return None
    return make_engine(settings.read_database_url, statement_timeout_s=settings.api_query_timeout_seconds,
                       pre_ping=False)


def _create_schema(engine: Engine, database_url: str) -> None:
    if not is_mysql(engine):
        create_schema(engine)
        return
    # On a connection of its own: the API's connections stop statements after API_QUERY_TIMEOUT_SECONDS,
    # and creating the tables may wait longer than that for another process's schema lock.
    setup = make_engine(database_url, poolclass=NullPool)
    try:
        create_schema(setup)
    finally:
        setup.dispose()


def _log_start(settings: Settings) -> None:
    keys = "full and read-only keys" if settings.read_api_key else "API key" if settings.api_key else "OPEN (no key)"
    logger.info("api ready env=%s database=%s replica=%s redis=%s access=%s cors=%s query_timeout=%gs",
                settings.castflow_env, mask_url(settings.database_url),
                mask_url(settings.read_database_url) or "none", mask_url(settings.redis_url), keys,
                ",".join(settings.cors_origin_list) or "off", settings.api_query_timeout_seconds)


def _register_views(app: Flask) -> None:
    from services.api.auth import require_api_key
    from services.api.views import (
        accuracy,
        backtests,
        batches,
        categories,
        events,
        forecasts,
        frontend,
        health,
        inventory,
        invoices,
        mappings,
        metrics,
        openapi,
        seasonality,
        targets,
        uploads,
        webhooks,
    )

    app.before_request(require_api_key)
    for module in (health, openapi, metrics, uploads, mappings, batches, invoices, categories, events, targets,
                   seasonality, webhooks, forecasts, backtests, inventory, accuracy, frontend):
        app.register_blueprint(module.blueprint)


def _discard_unfinished_uploads(_exc: BaseException | None) -> None:
    # A file the request did not publish (refused, duplicate form field, broken connection) is dropped.
    for pending in g.pop("pending_uploads", []):
        if not pending.done:
            services().store.abort(pending)


__all__ = ["create_app", "services", "PendingUpload"]
