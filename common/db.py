"""The database engine, sessions, and the idempotent start-up schema creation."""

from __future__ import annotations

import datetime as dt
import logging
import time
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from common.models import Base

logger = logging.getLogger(__name__)

#: MySQL advisory lock held while creating tables, so that several processes can start at once.
SCHEMA_LOCK = "castflow_schema"


def make_engine(url: str, **kwargs: object) -> Engine:
    """An engine for `url`, configured for castflow's access pattern on SQLite or MySQL/MariaDB."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, **kwargs)
    connect_args = {"charset": "utf8mb4", "local_infile": True, "connect_timeout": 10}
    # READ COMMITTED: a long-lived worker must see other processes' commits (the original platform's
    # workers sat in one REPEATABLE READ snapshot forever), and it takes fewer gap locks in upserts.
    return create_engine(
        url,
        isolation_level="READ COMMITTED",
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args=connect_args,
        **kwargs,
    )


def _sqlite_engine(url: str, database: str | None, **kwargs: object) -> Engine:
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 60}, **kwargs)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record):  # noqa: ANN001 - DB-API objects
        # WAL lets the API read while a worker writes; the busy timeout makes writers queue, not fail.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
        # Let SQLAlchemy, not the driver, open transactions (the driver's implicit BEGIN is broken).
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn):  # noqa: ANN001
        # A caller that will write at once sets info["sqlite_begin"] = "BEGIN IMMEDIATE" to take the
        # write lock up front instead of failing to upgrade a read lock later.
        conn.exec_driver_sql(conn.info.pop("sqlite_begin", "BEGIN"))

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory; use one session per request or job (`with factory.begin() as s:`)."""
    return sessionmaker(engine, expire_on_commit=False)


def is_mysql(engine_or_conn: object) -> bool:
    """True when the engine or connection talks to MySQL/MariaDB."""
    return engine_or_conn.dialect.name in ("mysql", "mariadb")


def create_schema(engine: Engine, attempts: int = 5) -> None:
    """Create the tables that are missing; safe when several processes start at the same time."""
    for attempt in range(1, attempts + 1):
        try:
            _create_all(engine)
            return
        except (OperationalError, ProgrammingError) as exc:
            # Two processes racing past `checkfirst` both issue CREATE TABLE: the loser retries.
            if "already exists" not in str(exc) or attempt == attempts:
                raise
            logger.info("schema race lost, retrying attempt=%d", attempt)
            time.sleep(0.2 * attempt)


def _create_all(engine: Engine) -> None:
    with engine.connect() as conn:
        if is_mysql(conn):
            got = conn.execute(text("SELECT GET_LOCK(:name, 60)"), {"name": SCHEMA_LOCK}).scalar()
            if got != 1:
                raise OperationalError("GET_LOCK", {}, Exception("schema lock not granted in 60 s"))
        try:
            Base.metadata.create_all(conn, checkfirst=True)
            conn.commit()
        finally:
            if is_mysql(conn):
                conn.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": SCHEMA_LOCK})


def utcnow() -> dt.datetime:
    """Now in UTC, naive, to the second: how every timestamp is stored."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def ping(engine: Engine) -> None:
    """Raise unless the database answers a trivial query."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
