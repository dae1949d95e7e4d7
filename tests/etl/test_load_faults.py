"""The loader's error triage: which MySQL errors run a merge again, and which mean LOAD DATA LOCAL is refused."""

from __future__ import annotations

import pytest
from pymysql.err import OperationalError as PyMySQLOperationalError
from sqlalchemy.exc import OperationalError

from services.etl import load
from services.etl.load import is_lock_conflict, load_data_refused, retry_lock_conflicts


def mysql_error(code: int, message: str) -> OperationalError:
    """An OperationalError as SQLAlchemy raises it for a MySQL error `code` (the SQL text in its message)."""
    return OperationalError("LOAD DATA LOCAL INFILE '/tmp/x.csv' INTO TABLE cf_agg", {},
                            PyMySQLOperationalError(code, message))


class Conn:
    """Counts rollbacks, as the loader's connection would see them."""

    def __init__(self) -> None:
        self.rollbacks = 0

    def rollback(self) -> None:
        self.rollbacks += 1


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    monkeypatch.setattr(load.time, "sleep", lambda seconds: None)


def test_deadlock_and_lock_wait_timeout_are_lock_conflicts():
    """1213 and 1205 are; a lost connection or a syntax error is not."""
    assert is_lock_conflict(mysql_error(1213, "Deadlock found when trying to get lock"))
    assert is_lock_conflict(mysql_error(1205, "Lock wait timeout exceeded"))
    assert not is_lock_conflict(mysql_error(2013, "Lost connection to MySQL server during query"))
    assert not is_lock_conflict(ValueError("1213"))


def test_a_transaction_that_lost_a_deadlock_runs_again_after_a_rollback():
    """The first two runs are deadlock victims; the third succeeds and its result is returned."""
    conn, runs = Conn(), []

    def transaction() -> str:
        runs.append(1)
        if len(runs) < 3:
            raise mysql_error(1213, "Deadlock found when trying to get lock")
        return "merged"

    assert retry_lock_conflicts(conn, transaction, "merge") == "merged"
    assert (len(runs), conn.rollbacks) == (3, 2)


def test_lock_conflict_retries_are_bounded():
    """A conflict that keeps coming is raised after the last attempt."""
    conn, runs = Conn(), []

    def transaction() -> None:
        runs.append(1)
        raise mysql_error(1205, "Lock wait timeout exceeded")

    with pytest.raises(OperationalError):
        retry_lock_conflicts(conn, transaction, "merge", attempts=3)
    assert len(runs) == 3


def test_other_errors_are_not_retried():
    """A lost connection goes straight to the job (which records it and lets RQ retry later)."""
    conn, runs = Conn(), []

    def transaction() -> None:
        runs.append(1)
        raise mysql_error(2013, "Lost connection to MySQL server during query")

    with pytest.raises(OperationalError):
        retry_lock_conflicts(conn, transaction, "merge")
    assert (len(runs), conn.rollbacks) == (1, 0)


@pytest.mark.parametrize(("code", "message", "refused"), [
    (3948, "Loading local data is disabled; this must be enabled on both the client and server sides", True),
    (1148, "The used command is not allowed with this MariaDB version", True),
    (2068, "LOAD DATA LOCAL INFILE file request rejected due to restrictions on access.", True),
    (2013, "Lost connection to MySQL server during query", False),
    (1053, "Server shutdown in progress", False),
])
def test_only_a_refusal_of_load_data_local_switches_to_inserts(code, message, refused):
    """The statement's own text (which names LOAD DATA LOCAL) does not make a lost connection look like a refusal."""
    assert load_data_refused(mysql_error(code, message)) is refused
