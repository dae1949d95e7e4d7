"""The ETL on the real MariaDB/MySQL and Redis: every unit scenario again, plus what only MySQL has."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from common.storage import LocalUploadStore
from services.etl import jobs
from services.etl.load import BatchLoader
from tests.conftest import SHARED_DATA, upload
from tests.etl.test_jobs import *  # noqa: F403 - the same scenarios, run here against MariaDB + Redis
from tests.etl.test_jobs import HEADER, load, stored

pytestmark = pytest.mark.integration


def store_item_rows(limit: int) -> str:
    """The first `limit` rows of the real Store Item Demand file, in castflow's columns."""
    path = SHARED_DATA / "store-item-demand" / "train.csv"
    if not path.exists():
        pytest.skip(f"shared dataset missing: {path.name}")
    lines = path.read_text().splitlines()[1:limit + 1]
    out = [HEADER.strip()]
    for line in lines:
        date, store, item, sales = line.split(",")
        out.append(f"{date},item-{item},store-{store},{sales}")
    return "\n".join(out) + "\n"


def test_real_file_then_fifty_corrections(client, drain, engine):
    """20,000 real rows load; a corrected re-upload with 50 changed values reports exactly 50 updated."""
    original = store_item_rows(20_000)
    first = load(client, drain, original, "store-items.csv")
    assert (first["status"], first["num_inserted_rows"]) == ("completed", 20_000)
    lines = original.splitlines()
    for i in range(1, 20_000, 400):  # 50 lines
        date, product, category, sales = lines[i].split(",")
        lines[i] = f"{date},{product},{category},{int(sales) + 1}"
    second = load(client, drain, "\n".join(lines) + "\n", "store-items-corrected.csv")
    assert (second["num_inserted_rows"], second["num_updated_rows"], second["num_unchanged_rows"]) == (0, 50, 19_950)
    with engine.connect() as conn:
        versions = dict(conn.execute(text("SELECT version, COUNT(*) FROM invoice_data GROUP BY version")).all())
    assert versions == {1: 19_950, 2: 50}


def test_binary_collation_keeps_accents_case_and_emoji_apart(client, drain, engine):
    """Café, CAFÉ, Cafe and 🍰 are four categories on MySQL too (utf8mb4_bin)."""
    body = HEADER + "".join(f"2023-01-01,p,{c},1\n" for c in ("Café", "CAFÉ", "Cafe", "🍰")) + "2023-01-02,q,x,1\n" * 6
    load(client, drain, body)
    assert {k[2] for k in stored(engine)} == {"Café", "CAFÉ", "Cafe", "🍰", "x"}


def test_insert_fallback_when_load_data_is_refused(client, drain, engine, monkeypatch):
    """With LOAD DATA LOCAL refused (MySQL 8's default), staging falls back to INSERT with the same result."""
    original = BatchLoader._load_file

    def refuse(self, *args, **kwargs):
        raise OperationalError("LOAD DATA LOCAL INFILE", {}, Exception("Loading local data is disabled"))

    monkeypatch.setattr(BatchLoader, "_load_file", refuse)
    body = HEADER + "2023-01-01,p,c,1\n" + "".join(f"2023-01-02,f{i},c,1\n" for i in range(12_000)) + \
        "2023-01-01,p,c,2\n"
    batch = load(client, drain, body)
    assert batch["num_inserted_rows"] == 12_001
    assert stored(engine)[("2023-01-01", "p", "c")][0] == 3
    assert original is not None


def test_two_upload_race_gives_one_batch(client, app, settings):
    """Ten identical uploads at once: the unique constraint lets one in; the others get 409 and its number."""
    body = HEADER + "2023-01-01,p,c,1\n"
    barrier = threading.Barrier(10)
    answers = []

    def post() -> None:
        local = app.test_client()
        barrier.wait()
        answers.append(upload(local, body))

    threads = [threading.Thread(target=post) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted(a.status_code for a in answers)
    assert codes == [202] + [409] * 9
    winner = next(a.json["batch_num"] for a in answers if a.status_code == 202)
    assert {a.json["batch_num"] for a in answers} == {winner}
    assert all(a.json == {"error": "duplicate file", "batch_num": winner} for a in answers if a.status_code == 409)


def test_a_job_that_hit_a_transient_error_completes_on_retry(client, drain, engine, settings, redis, monkeypatch):
    """A database error mid-merge rolls everything back; the retried job completes with the right counts."""
    batch_num = upload(client, HEADER + "2023-01-01,p,c,1\n2023-01-02,p,c,2\n").json["batch_num"]
    real_merge = BatchLoader.merge
    calls = []

    def flaky(self, *args, **kwargs):
        calls.append(1)
        real_merge(self, *args, **kwargs)
        if len(calls) == 1:
            raise OperationalError("INSERT", {}, Exception("Lost connection to server during query"))

    monkeypatch.setattr(BatchLoader, "merge", flaky)
    store = LocalUploadStore(settings.upload_dir)
    with pytest.raises(OperationalError):
        jobs.process_batch(batch_num, settings=settings, engine=engine, store=store, redis=redis)
    assert stored(engine) == {}
    assert client.get(f"/batches/{batch_num}").json["status"] == "processing"
    jobs.process_batch(batch_num, settings=settings, engine=engine, store=store, redis=redis)
    batch = client.get(f"/batches/{batch_num}").json
    assert (batch["status"], batch["num_inserted_rows"], batch["attempts"]) == ("completed", 2, 2)


def test_overlapping_batches_loaded_concurrently_end_with_the_later_values(client, engine, settings, redis):
    """Two workers merging overlapping keys at once: no deadlock reaches anyone, batch 2's values win."""
    keys = "".join(f"2023-01-{d:02d},p{i},c,{{v}}\n" for d in range(1, 29) for i in range(100))
    first = upload(client, HEADER + keys.format(v=1)).json["batch_num"]
    second = upload(client, HEADER + keys.format(v=2)).json["batch_num"]
    store = LocalUploadStore(settings.upload_dir)
    errors = []

    def work(batch_num: int) -> None:
        try:
            jobs.process_batch(batch_num, settings=settings, engine=engine, store=store, redis=redis)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(b,)) for b in (second, first)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert {v[0] for v in stored(engine).values()} == {2}
