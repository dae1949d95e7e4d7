"""The database engine, sessions, and the idempotent start-up schema creation."""

from __future__ import annotations

import datetime as dt
import logging
import re
import sqlite3
import time
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from common.models import Base

logger = logging.getLogger(__name__)

#: MySQL advisory lock held while creating tables, so that several processes can start at once.
SCHEMA_LOCK = "castflow_schema"
#: Tables an older castflow made that nothing reads any more, dropped at start-up. forecast_accuracy held a
#: stored score per run, model, product and day; scores are now computed when read (common/realised.py) from
#: the forecasts and actuals kept anyway, so dropping it loses nothing.
RETIRED_TABLES = ("forecast_accuracy",)
#: Server errors of a statement stopped by its time limit: MariaDB's max_statement_time, MySQL's max_execution_time.
STATEMENT_TIMEOUT_ERRORS = frozenset({1969, 3024})
#: Time limit of a streamed read (a download): it lasts as long as the client takes to receive it, so
#: the per-statement limit, which bounds database work, would cut slow downloads short.
STREAM_TIMEOUT_S = 3600


def make_engine(url: str, *, statement_timeout_s: float = 0, pre_ping: bool = True, **kwargs: object) -> Engine:
    """An engine for `url`, configured for castflow's access pattern on SQLite or MySQL/MariaDB.

    With `statement_timeout_s` (MySQL/MariaDB; the API's engine) the server stops any statement that
    runs longer, with an error `is_statement_timeout` recognises. `pre_ping=False` (the API's engine)
    saves a round trip per checkout: a connection the server dropped then fails its request (503), and
    SQLAlchemy, seeing a disconnect, replaces every connection of the pool older than that one.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, **kwargs)
    connect_args = {"charset": "utf8mb4", "local_infile": True, "connect_timeout": 10}
    # READ COMMITTED: a long-lived worker must see other processes' commits (the original platform's
    # workers sat in one REPEATABLE READ snapshot forever), and it takes fewer gap locks in upserts.
    engine = create_engine(
        url,
        isolation_level="READ COMMITTED",
        pool_pre_ping=pre_ping,
        pool_recycle=1800,
        connect_args=connect_args,
        **kwargs,
    )
    if statement_timeout_s > 0:
        _limit_statement_time(engine, statement_timeout_s)
    return engine


def _limit_statement_time(engine: Engine, seconds: float) -> None:
    """Set the session's statement time limit on every new connection; streamed reads get STREAM_TIMEOUT_S."""

    @event.listens_for(engine, "connect")
    def _set_limit(dbapi_connection, _record):  # noqa: ANN001 - DB-API objects
        cursor = dbapi_connection.cursor()
        if "mariadb" in dbapi_connection.get_server_info().lower():
            cursor.execute(f"SET SESSION max_statement_time = {seconds:.3f}")
        else:  # MySQL: milliseconds, and it applies to SELECT statements only
            cursor.execute(f"SET SESSION max_execution_time = {max(int(seconds * 1000), 1)}")
        cursor.close()

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def _streams_get_longer(conn, _cursor, statement, parameters, context, _many):  # noqa: ANN001, ANN202
        if context is not None and context.execution_options.get("stream_results"):
            statement = with_stream_timeout(statement, conn.dialect.is_mariadb)
        return statement, parameters


def with_stream_timeout(statement: str, mariadb: bool) -> str:
    """`statement` with STREAM_TIMEOUT_S as its own time limit instead of the session's."""
    if mariadb:
        return f"SET STATEMENT max_statement_time={STREAM_TIMEOUT_S} FOR {statement}"
    return re.sub(r"^\s*SELECT\b", f"SELECT /*+ MAX_EXECUTION_TIME({STREAM_TIMEOUT_S * 1000}) */", statement,
                  count=1, flags=re.IGNORECASE)


def is_statement_timeout(exc: BaseException) -> bool:
    """True when `exc` (a SQLAlchemy or DB-API error) is a statement stopped by its time limit."""
    orig = getattr(exc, "orig", exc)
    args = getattr(orig, "args", ())
    return bool(args) and args[0] in STATEMENT_TIMEOUT_ERRORS


def _sqlite_engine(url: str, database: str | None, **kwargs: object) -> Engine:
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 60}, **kwargs)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record):  # noqa: ANN001 - DB-API objects
        # WAL lets the API read while a worker writes; the busy timeout makes writers queue, not fail.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=60000")
        _set_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
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


def _set_wal(cursor, attempts: int = 50) -> None:  # noqa: ANN001 - a DB-API cursor
    """Switch a SQLite file to WAL; processes opening a fresh file together can get "locked" at once (the switch
    does not wait on the busy timeout), so it is retried for a few seconds."""
    for attempt in range(attempts):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.1)


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
        # SQLite: take the write lock up front, so processes starting together queue on the busy timeout instead
        # of failing ("database is locked") when their read of the catalogue turns into a write.
        conn.info["sqlite_begin"] = "BEGIN IMMEDIATE"
        if is_mysql(conn):
            got = conn.execute(text("SELECT GET_LOCK(:name, 60)"), {"name": SCHEMA_LOCK}).scalar()
            if got != 1:
                raise OperationalError("GET_LOCK", {}, Exception("schema lock not granted in 60 s"))
        try:
            Base.metadata.create_all(conn, checkfirst=True)
            add_missing_columns(conn)
            drop_retired_tables(conn)
            conn.commit()
        finally:
            if is_mysql(conn):
                conn.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": SCHEMA_LOCK})


def add_missing_columns(conn: Connection) -> list[str]:
    """Add the nullable columns a newer castflow defines to tables an older one created; return what was added.

    New columns are always nullable (old rows have no value for them), so adding them never rewrites data.
    """
    inspector = inspect(conn)
    added = []
    for table in Base.metadata.sorted_tables:
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present or not column.nullable:
                continue
            kind = column.type.compile(dialect=conn.dialect)
            conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind} NULL"))
            added.append(f"{table.name}.{column.name}")
    if added:
        logger.info("schema: added columns %s", ", ".join(added))
    return added


def drop_retired_tables(conn: Connection) -> list[str]:
    """Drop the RETIRED_TABLES an older castflow left; return the ones dropped."""
    present = set(inspect(conn).get_table_names())
    dropped = [name for name in RETIRED_TABLES if name in present]
    for name in dropped:
        conn.execute(text(f"DROP TABLE {name}"))
    if dropped:
        logger.info("schema: dropped retired tables %s", ", ".join(dropped))
    return dropped


def utcnow() -> dt.datetime:
    """Now in UTC, naive, to the second: how every timestamp is stored."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def ping(engine: Engine) -> None:
    """Raise unless the database answers a trivial query."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
