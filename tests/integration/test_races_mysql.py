"""Races on the real MariaDB and Redis: identical uploads over HTTP, overlapping batches in two workers, deadlocks.

tests/integration/test_etl_mysql.py races ten uploads through the Flask test client and two merges in
threads; here the same promises hold across processes (gunicorn's workers, two ETL worker
processes), and a real InnoDB deadlock inside a merge is retried instead of failing the batch.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import sys
import threading
import uuid
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

from common.config import settings_env
from common.storage import LocalUploadStore
from services.etl import jobs
from services.etl.load import BatchLoader
from tests.integration.faultcheck import batch, csv_bytes, upload, wait_for_status
from tests.integration.processes import HTTP_PORTS, free_port, wait_until

pytestmark = pytest.mark.integration

UPLOADS = 20


def post_file(port: int, content: bytes, filename: str = "sales.csv") -> tuple[int, dict]:
    """POST a multipart upload over a real socket; (status, JSON body)."""
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            "Content-Type: text/csv\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", "/upload", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
        answer = conn.getresponse()
        return answer.status, json.loads(answer.read())
    finally:
        conn.close()


def api_answers(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/health")
        return conn.getresponse().status == 200
    finally:
        conn.close()


def test_twenty_identical_uploads_over_http_make_one_batch(settings, engine, processes, store_items):
    """20 concurrent POSTs of one file to gunicorn (2 processes x 8 threads): one 202, 19 409s, one stored file."""
    port = free_port(HTTP_PORTS)
    settings = replace(settings, web_workers=2, web_threads=8)
    env = {**os.environ, **settings_env(settings), "CASTFLOW_ENV_FILE": ""}
    api = processes.start("api", [sys.executable, "-m", "gunicorn", "services.api:create_app()",
                                  "-b", f"127.0.0.1:{port}"], env)
    wait_until(lambda: api_answers(port), 60, lambda: api.output())
    content = csv_bytes(store_items.iloc[:50_000])
    barrier = threading.Barrier(UPLOADS)
    answers: list[tuple[int, dict]] = []

    def post() -> None:
        barrier.wait()
        answers.append(post_file(port, content))

    threads = [threading.Thread(target=post) for _ in range(UPLOADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sorted(status for status, _ in answers) == [202] + [409] * (UPLOADS - 1), answers
    winner = next(body["batch_num"] for status, body in answers if status == 202)
    assert all(body == {"error": "duplicate file", "batch_num": winner} for status, body in answers if status == 409)
    root = Path(settings.upload_dir)
    assert [p.name for p in root.iterdir() if p.is_file()] == [f"{hashlib.sha256(content).hexdigest()}.csv"]
    assert [p for p in root.rglob("*") if p.is_file() and p.parent != root] == []  # no leftover partial file
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM upload_metadata")).scalar() == 1


def test_two_worker_processes_merging_overlapping_batches_end_with_the_later_values(settings, engine, app, processes,
                                                                                   store_items):
    """Two ETL workers load two batches of the same keys at once: no lock error reaches either, batch 2's values win."""
    settings = replace(settings, etl_chunk_rows=20_000)
    rows = store_items.iloc[:100_000]
    client = app.test_client()
    first = upload(client, csv_bytes(rows)).json["batch_num"]
    second = upload(client, csv_bytes(rows.assign(sales=rows["sales"] + 1))).json["batch_num"]
    processes.worker("services.etl", settings, name="etl-a")
    processes.worker("services.etl", settings, name="etl-b")
    done = [wait_for_status(engine, number, ("completed", "failed"), 120, processes) for number in (first, second)]
    assert [(b["status"], b["attempts"]) for b in done] == [("completed", 1)] * 2, [b["error_log"] for b in done]
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT COUNT(*), SUM(sales), MIN(batch_num), MAX(batch_num) "
                                   "FROM invoice_data")).one()
    assert tuple(stored) == (100_000, int(rows["sales"].sum()) + 100_000, second, second)


def statements(engine) -> list[tuple]:
    """What this database's connections are running: (connection id, state, statement start, milliseconds)."""
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(
            "SELECT ID, STATE, LEFT(INFO, 40), TIME_MS FROM information_schema.PROCESSLIST "
            "WHERE DB = DATABASE() AND ID <> CONNECTION_ID()"))]


def classify_is_blocked(engine) -> bool:
    """True when the merge's classify step (two keys: milliseconds of work) has run for half a second: it waits."""
    return any((info or "").startswith("UPDATE cf_agg a JOIN invoice_data") and ms > 500
               for _, _, info, ms in statements(engine))


def test_a_deadlock_inside_the_merge_is_retried_and_the_batch_completes(settings, engine, app, drain, redis, caplog):
    """Another writer deadlocks with a merge (InnoDB rolls the merge back): the merge runs again, no error."""
    client = app.test_client()
    keys = pd.DataFrame({"Date": "2023-01-01", "product_id": ["a", "b"], "category": "c", "sales": [1, 2]})
    filler = pd.DataFrame({"Date": "2023-01-02", "product_id": [f"f{i}" for i in range(5000)], "category": "filler",
                           "sales": 1})
    upload(client, csv_bytes(pd.concat([keys, filler])))
    drain()
    number = upload(client, csv_bytes(keys.assign(sales=[10, 20]))).json["batch_num"]
    other = engine.connect()
    errors: list[BaseException] = []
    try:
        # A big transaction (5,000 rows changed: InnoDB keeps it and sacrifices the small merge) holding key b.
        other.execute(text("UPDATE invoice_data SET sales = sales + 1 WHERE category = 'filler'"))
        other.execute(text("UPDATE invoice_data SET sales = sales + 1 WHERE product_id = 'b' AND category = 'c'"))
        store = LocalUploadStore(settings.upload_dir)

        def merge() -> None:
            try:
                jobs.process_batch(number, settings=settings, engine=engine, store=store, redis=redis)
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)

        worker = threading.Thread(target=merge)
        worker.start()
        wait_until(lambda: classify_is_blocked(engine), 40, lambda: f"the merge never waited: {statements(engine)}")
        # The merge holds its batch's row (locked first thing in its transaction) and waits for key b:
        # asking for that row closes the cycle.
        other.execute(text("SELECT status FROM upload_metadata WHERE batch_num = :n FOR UPDATE"), {"n": number})
        other.commit()  # only reached once InnoDB broke the cycle by rolling the merge back
    finally:
        other.close()
    worker.join(60)
    assert errors == []
    assert "lost a lock conflict (MySQL error 1213)" in caplog.text  # the deadlock happened, and was survived
    done = batch(engine, number)
    assert (done["status"], done["attempts"], done["num_updated_rows"]) == ("completed", 1, 2), done["error_log"]
    with engine.connect() as conn:
        values = dict(conn.execute(text("SELECT product_id, sales FROM invoice_data WHERE category = 'c'")).all())
    assert values == {"a": 10, "b": 20}


def waits_at_the_merge_lock(engine) -> bool:
    """True when a merge has waited half a second for the merge lock."""
    return any(ms > 500 and (info or "").startswith("SELECT GET_LOCK") for _, _, info, ms in statements(engine))


def test_a_merge_paused_after_classifying_does_not_overwrite_a_later_batch(settings, engine, app, redis,
                                                                          monkeypatch):
    """The older batch has classified its keys as new when the newer one arrives: the newer one waits its turn.

    Without the merge lock the newer batch would commit those keys meanwhile, and the older batch's
    upsert would then overwrite them with its older values.
    """
    client = app.test_client()
    keys = pd.DataFrame({"Date": "2023-01-01", "product_id": [f"p{i:03}" for i in range(100)], "category": "c"})
    older = upload(client, csv_bytes(keys.assign(sales=1))).json["batch_num"]
    newer = upload(client, csv_bytes(keys.assign(sales=2))).json["batch_num"]
    classified, resume = threading.Event(), threading.Event()
    real_counts = BatchLoader.counts

    def pause_the_older(self):  # noqa: ANN001, ANN202 - BatchLoader.counts, between classify and upsert
        if threading.current_thread().name == "older":
            classified.set()
            resume.wait(60)
        return real_counts(self)

    monkeypatch.setattr(BatchLoader, "counts", pause_the_older)
    store = LocalUploadStore(settings.upload_dir)
    errors: list[BaseException] = []

    def load(number: int) -> None:
        try:
            jobs.process_batch(number, settings=settings, engine=engine, store=store, redis=redis)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = {name: threading.Thread(target=load, args=(number,), name=name)
               for name, number in (("older", older), ("newer", newer))}
    threads["older"].start()
    try:
        assert classified.wait(60), "the older batch never reached its merge"
        threads["newer"].start()
        wait_until(lambda: waits_at_the_merge_lock(engine) or not threads["newer"].is_alive(), 60,
                   lambda: f"the newer batch neither waited nor finished: {statements(engine)}")
    finally:
        resume.set()
    for thread in threads.values():
        thread.join(60)
    assert errors == []
    with engine.connect() as conn:
        values = set(conn.execute(text("SELECT sales, batch_num FROM invoice_data")).all())
    assert values == {(2, newer)}
