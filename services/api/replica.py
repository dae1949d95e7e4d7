"""Reads from the read replica (READ_DATABASE_URL), when there is one.

The heavy uncached reads (observations, batch lists, rejected rows, category histories) go to the
replica. Writes, claims and the reads a write depends on stay on the primary, and so do the reads
the response cache keeps: an answer it stores must be as new as the read generation it read first,
and a lagging replica could be older. A batch the primary shows completed is shown completed only
once the replica shows it too: its rows arrive there in the same transaction, so a client that sees
`completed` can read them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from common.db import is_statement_timeout
from services.api import services
from services.api.errors import ApiError

#: The answer when the replica does not respond (the primary may be fine: writes still work).
REPLICA_DOWN = "the read replica (READ_DATABASE_URL) is unavailable; try again shortly"


def has_replica() -> bool:
    """True when READ_DATABASE_URL names a replica apart from the primary."""
    deps = services()
    return deps.read_engine is not deps.engine


@contextmanager
def read_session() -> Iterator[Session]:
    """A session on the replica (the primary without one); its outage becomes 503 naming the replica."""
    with _replica_errors(), services().read_sessions() as session:
        yield session


@contextmanager
def read_connection() -> Iterator[Connection]:
    """A plain connection on the replica (the primary without one); 503 naming the replica when it is down."""
    with _replica_errors(), services().read_engine.connect() as conn:
        yield conn


@contextmanager
def _replica_errors() -> Iterator[None]:
    try:
        yield
    except OperationalError as exc:
        if not has_replica() or is_statement_timeout(exc):
            raise  # the primary's outage and slow queries have their own answers
        raise ApiError(503, REPLICA_DOWN) from None
