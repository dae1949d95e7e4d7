"""Accepting an upload: check the received file, record the batch, queue its ETL.

The database's UNIQUE(file_hash, mapping_digest) decides duplicates: the same bytes with the same
mapping are one batch (the same file with another mapping is another batch). Two identical uploads
racing each other both try to insert, one wins, the other gets the winner's batch_num back (no
check-then-insert).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from common.config import Settings
from common.db import utcnow
from common.fileformat import FileProblem, inspect_file, kind_from_name
from common.mapping import Mapping
from common.models import UploadMetadata
from common.queue import enqueue_etl
from common.status import BatchStatus
from common.storage import PendingUpload, UploadStore, stored_name

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Accepted:
    """The answer to an upload: the batch and whether it is new (False: an exact duplicate)."""

    batch_num: int
    created: bool


def accept_upload(
    pending: PendingUpload,
    filename: str,
    *,
    mapping: Mapping,
    settings: Settings,
    store: UploadStore,
    sessions: sessionmaker[Session],
    redis: Redis,
) -> Accepted:
    """Check a received file, store it, record its batch and queue the ETL; FileProblem if it is refused."""
    kind = kind_from_name(filename)
    if pending.size == 0:
        raise FileProblem("the file is empty")
    with store.received(pending) as fileobj:
        layout = inspect_file(fileobj, kind, settings.max_uncompressed_bytes, mapping, limits=settings.file_limits)
    name = stored_name(pending.sha256, kind.suffix)
    # Content-addressed: a racing identical upload publishes the same bytes under the same name.
    store.finish(pending, name)
    batch_num, created = _record(sessions, filename, name, pending, mapping, layout.categories_from())
    if created:
        logger.info("upload accepted batch=%s bytes=%d kind=%s", batch_num, pending.size, kind.value)
        try:
            enqueue_etl(redis, batch_num, prefix=settings.queue_prefix, attempts=settings.etl_max_attempts)
        except RedisError:
            # The batch is recorded; the workers' reconcile step queues every unfinished batch.
            logger.warning("redis unavailable, batch left for reconcile batch=%s", batch_num)
    return Accepted(batch_num, created)


def _record(sessions: sessionmaker[Session], filename: str, name: str, pending: PendingUpload,
            mapping: Mapping, categories_from: str | None) -> tuple[int, bool]:
    digest = "" if mapping.is_default else mapping.digest()
    row = UploadMetadata(
        original_filename=safe_display_name(filename),
        stored_filename=name,
        file_hash=pending.sha256,
        mapping=None if mapping.is_default else json.dumps(mapping.to_json(), sort_keys=True),
        mapping_digest=digest,
        categories_from=categories_from,
        file_size=pending.size,
        status=BatchStatus.UPLOADED,
        uploaded_at=utcnow(),
    )
    try:
        with sessions.begin() as session:
            session.add(row)
            session.flush()
            return row.batch_num, True
    except IntegrityError:
        with sessions() as session:
            existing = session.scalar(
                select(UploadMetadata.batch_num).where(UploadMetadata.file_hash == pending.sha256,
                                                       UploadMetadata.mapping_digest == digest)
            )
        if existing is None:  # the integrity error was something else
            raise
        return existing, False


def safe_display_name(filename: str) -> str:
    """The client's file name as shown back to users: base name only, printable, at most 255 characters."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable()).strip()
    return (cleaned or "upload")[:255]
