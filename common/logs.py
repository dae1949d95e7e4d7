"""Logging set-up, called by entry points only (never at import): text or JSON lines, ids bound, secrets masked.

A job binds the ids it works on (`job_log_context`, `bind_log_fields`) and every record logged while it
runs carries them: `batch_num`, `run_id` and RQ's `job_id`. Every handler castflow installs masks the
secrets it is given (API keys, database and Redis passwords) wherever they would appear, tracebacks included.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from common.config import Settings

#: The text format: one line per record, with the process id (workers fork per job) and the bound ids.
FORMAT = "%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s%(context)s"
#: Ids a record carries when they are known, in this order.
CONTEXT_FIELDS = ("batch_num", "run_id", "job_id")
#: What a masked secret is replaced with.
MASK = "***"

# Replaced, never mutated, so that a context set in one job cannot leak into another.
_context: ContextVar[dict[str, object]] = ContextVar("castflow_log_context", default={})  # noqa: B039


@contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Within the block, every record carries `fields` (None or '' values are left out)."""
    token = _context.set({**_context.get(), **_known(fields)})
    try:
        yield
    finally:
        _context.reset(token)


def bind_log_fields(**fields: object) -> None:
    """Add fields to the current context (for ids learnt mid-job, such as a run's batch)."""
    _context.set({**_context.get(), **_known(fields)})


def job_log_context(id_field: str) -> Callable[[Callable], Callable]:
    """Decorate an RQ job taking an id first: its records carry `id_field`=<id> and RQ's job_id."""

    def decorate(job: Callable) -> Callable:
        @functools.wraps(job)
        def run(ident: object, *args: object, **kwargs: object) -> object:
            with log_context(**{id_field: ident}, job_id=_current_job_id()):
                return job(ident, *args, **kwargs)

        return run

    return decorate


def _current_job_id() -> str | None:
    from rq import get_current_job  # imported here: only job processes need it

    job = get_current_job()
    return job.id if job is not None else None


def _known(fields: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in fields.items() if v is not None and v != ""}


class ContextFilter(logging.Filter):
    """Stamps each record with the bound ids (as attributes, and as `context` text for the text format)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add the fields; never drops a record."""
        bound = _context.get()
        for name in CONTEXT_FIELDS:
            if getattr(record, name, None) is None:
                setattr(record, name, bound.get(name))
        shown = [(name, getattr(record, name)) for name in CONTEXT_FIELDS if getattr(record, name) is not None]
        record.context = "".join(f" {name}={value}" for name, value in shown)
        return True


class _Masking:
    """Replaces each secret by *** in whatever text it is given."""

    def __init__(self, secrets: Iterable[str]) -> None:
        # Longest first: a secret that contains another is masked whole.
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text


class TextFormatter(logging.Formatter):
    """One readable line per record (plus its traceback), secrets masked."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__(FORMAT)
        self.masking = _Masking(secrets)

    def format(self, record: logging.LogRecord) -> str:
        """The line, masked."""
        if not hasattr(record, "context"):
            record.context = ""
        return self.masking.mask(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the bound ids, exception; secrets masked."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.masking = _Masking(secrets)

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        entry: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": self.masking.mask(record.getMessage()),
            "process": record.process,
        }
        entry.update({name: getattr(record, name) for name in CONTEXT_FIELDS
                      if getattr(record, name, None) is not None})
        if record.exc_info:
            entry["exception"] = self.masking.mask(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = self.masking.mask(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def make_formatter(fmt: str = "text", secrets: Iterable[str] = ()) -> logging.Formatter:
    """The formatter for LOG_FORMAT `fmt` (text or json), masking `secrets`."""
    return JsonFormatter(secrets) if fmt == "json" else TextFormatter(secrets)


def format_handlers(handlers: Iterable[logging.Handler], fmt: str, secrets: Iterable[str]) -> None:
    """Give existing handlers (gunicorn's, say) castflow's format, bound ids and masking."""
    formatter = make_formatter(fmt, secrets)
    for handler in handlers:
        handler.setFormatter(formatter)
        if not any(isinstance(f, ContextFilter) for f in handler.filters):
            handler.addFilter(ContextFilter())


def setup_logging(level: str = "INFO", fmt: str = "text", secrets: Iterable[str] = (),
                  stream: TextIO | None = None) -> None:
    """Log every record to stderr (or `stream`) as text lines or JSON lines, masking `secrets`."""
    handler = logging.StreamHandler(stream or sys.stderr)
    format_handlers([handler], fmt, secrets)
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)


def configure_logging(settings: Settings, stream: TextIO | None = None) -> None:
    """setup_logging from Settings: LOG_LEVEL, LOG_FORMAT, and every secret they hold."""
    setup_logging(settings.log_level, settings.log_format, settings.secrets(), stream)
