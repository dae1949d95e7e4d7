"""DELETE /batches/<id>: a completed batch taken back exactly and re-forecast, or refused with a reason."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import text

from common.queue import FORECAST_QUEUE, queue
from services.api import create_app
from tests.conftest import upload

HEADER = "Date,product_id,category,sales\n"
FIRST = HEADER + "".join(f"2023-01-{d:02d},{p},{c},{d}\n" for d in range(1, 11) for p in ("p1", "p2")
                         for c in ("north", "south"))
#: Changes two stored keys (one of them to an imputed value), leaves one as it is, and adds a new category.
SECOND = HEADER + "2023-01-01,p1,north,99\n2023-01-02,p1,north,\n2023-01-03,p2,south,3\n2023-01-01,p9,east,5\n"
FULL_KEY, READ_KEY = "full-key-0123456789", "read-key-0123456789"


def table(engine, name: str, order: str) -> list[tuple]:
    """Every row of a table, every column, in a fixed order."""
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(f"SELECT * FROM {name} ORDER BY {order}"))]


def snapshot(engine) -> tuple[list, list, list]:
    """invoice_data, category_stats (without its timestamp) and category_products."""
    stats = [row[:-1] for row in table(engine, "category_stats", "category")]
    return (table(engine, "invoice_data", "date, product_id, category"), stats,
            table(engine, "category_products", "category, product_id"))


def load(client, drain, body: str, name: str) -> int:
    batch = upload(client, body, name).json["batch_num"]
    drain()
    assert client.get(f"/batches/{batch}").json["status"] == "completed"
    return batch


def test_undo_puts_every_row_back_as_it_was(client, drain, engine, redis):
    """Inserted keys go, updated keys get their value, flags, batch, timestamps and version back; runs are queued."""
    load(client, drain, FIRST, "first.csv")
    before = snapshot(engine)
    second = load(client, drain, SECOND, "second.csv")
    assert snapshot(engine)[0] != before[0]
    queued = queue(redis, FORECAST_QUEUE).count
    response = client.delete(f"/batches/{second}")
    assert response.status_code == 200, response.json
    assert response.json["removed_rows"] == 1 and response.json["restored_rows"] == 2
    assert response.json["categories"] == ["east", "north"]
    assert snapshot(engine) == before
    assert table(engine, "invoice_history", "batch_num") == []
    assert len(response.json["forecast_run_ids"]) == 1  # north; east has no data left
    assert queue(redis, FORECAST_QUEUE).count == queued + 1
    assert client.get(f"/batches/{second}").status_code == 404


def test_undone_file_may_be_uploaded_again(client, drain, engine):
    """After an undo the same file is a new upload, not a duplicate, and loads the same rows again."""
    load(client, drain, FIRST, "first.csv")
    second = load(client, drain, SECOND, "second.csv")
    after = snapshot(engine)[0]
    assert client.delete(f"/batches/{second}").status_code == 200
    again = load(client, drain, SECOND, "second.csv")
    assert again != second
    assert [row[:5] + row[-1:] for row in snapshot(engine)[0]] == [row[:5] + row[-1:] for row in after]


def test_undo_refused_when_a_later_batch_changed_its_keys(client, drain, engine):
    """A key the batch wrote that a later batch changed: 409 naming that batch, nothing changed."""
    load(client, drain, FIRST, "first.csv")
    second = load(client, drain, SECOND, "second.csv")
    third = load(client, drain, HEADER + "2023-01-01,p1,north,7\n", "third.csv")
    before = snapshot(engine)
    response = client.delete(f"/batches/{second}")
    assert response.status_code == 409
    assert response.json["error"] == (f"1 of the keys batch {second} wrote were changed since by later batches "
                                      f"(batch {third} first); undo those first")
    assert snapshot(engine) == before
    assert client.delete(f"/batches/{third}").status_code == 200
    assert client.delete(f"/batches/{second}").status_code == 200  # in reverse order, both come off


def test_later_unchanged_rows_do_not_block_an_undo(client, drain, engine):
    """A later batch that sends a key's same value again changes nothing, so the undo goes ahead."""
    load(client, drain, FIRST, "first.csv")
    before = snapshot(engine)[0]
    second = load(client, drain, SECOND, "second.csv")
    load(client, drain, HEADER + "2023-01-01,p1,north,99\n", "same.csv")
    assert client.delete(f"/batches/{second}").status_code == 200
    assert snapshot(engine)[0] == before


def test_undo_refused_while_loading_or_failed(client, drain):
    """A batch still loading, or one that failed, is 409 with the reason; an unknown one 404."""
    waiting = upload(client, FIRST, "first.csv").json["batch_num"]
    response = client.delete(f"/batches/{waiting}")
    assert response.status_code == 409 and "still loading (uploaded)" in response.json["error"]
    drain()
    bad = upload(client, HEADER + "2023-02-30,p,c,1\n", "bad.csv").json["batch_num"]
    drain()
    response = client.delete(f"/batches/{bad}")
    assert response.status_code == 409 and "failed and wrote nothing" in response.json["error"]
    assert client.delete("/batches/999").json == {"error": "batch 999 not found"}
    assert client.delete("/batches/999").status_code == 404


def test_undo_needs_the_write_key(settings, engine, redis):
    """The read-only key may not undo (403), no key 401."""
    keyed = replace(settings, api_key=FULL_KEY, read_api_key=READ_KEY)
    client = create_app(keyed, engine=engine, redis=redis).test_client()
    assert client.delete("/batches/1").status_code == 401
    assert client.delete("/batches/1", headers={"X-API-Key": READ_KEY}).status_code == 403
    assert client.delete("/batches/1", headers={"X-API-Key": FULL_KEY}).status_code == 404


def test_a_batch_from_before_the_history_cannot_be_undone(client, drain, engine):
    """Without the rows it replaced (loaded before they were kept), an updating batch is refused, not half-undone."""
    load(client, drain, FIRST, "first.csv")
    second = load(client, drain, SECOND, "second.csv")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM invoice_history"))
    before = snapshot(engine)
    response = client.delete(f"/batches/{second}")
    assert response.status_code == 409 and "not known" in response.json["error"]
    assert snapshot(engine) == before


def _keeping(settings, engine, redis, monkeypatch, keep: int):
    """A client whose API and jobs keep the replaced rows of the last `keep` batches."""
    monkeypatch.setenv("UNDO_KEEP_BATCHES", str(keep))
    return create_app(replace(settings, undo_keep_batches=keep), engine=engine, redis=redis).test_client()


def test_replaced_rows_are_kept_for_the_last_undo_keep_batches_only(app, settings, engine, redis, drain,
                                                                    monkeypatch):
    """With UNDO_KEEP_BATCHES=1 a newer batch drops the copy an older one kept: that one is refused, saying why,
    and the newest is still undone exactly."""
    client = _keeping(settings, engine, redis, monkeypatch, 1)
    load(client, drain, FIRST, "first.csv")
    second = load(client, drain, SECOND, "second.csv")
    assert {row[0] for row in table(engine, "invoice_history", "batch_num")} == {second}
    before_third = snapshot(engine)
    third = load(client, drain, HEADER + "2023-01-05,p2,north,50\n", "third.csv")
    assert {row[0] for row in table(engine, "invoice_history", "batch_num")} == {third}
    assert client.delete(f"/batches/{third}").status_code == 200
    assert snapshot(engine) == before_third
    response = client.delete(f"/batches/{second}")
    assert response.status_code == 409
    assert "keeps them for the last 1 batches" in response.json["error"]
    assert snapshot(engine) == before_third


def test_undo_keep_batches_0_keeps_nothing_yet_undoes_a_batch_that_only_inserted(app, settings, engine, redis,
                                                                                drain, monkeypatch):
    """0 writes no copies: an updating batch cannot be undone, one that only added keys still can."""
    client = _keeping(settings, engine, redis, monkeypatch, 0)
    load(client, drain, FIRST, "first.csv")
    second = load(client, drain, SECOND, "second.csv")
    assert table(engine, "invoice_history", "batch_num") == []
    before_fourth = snapshot(engine)
    fourth = load(client, drain, HEADER + "2023-02-01,p1,north,4\n", "fourth.csv")
    assert client.delete(f"/batches/{second}").status_code == 409
    assert client.delete(f"/batches/{fourth}").status_code == 200
    assert snapshot(engine) == before_fourth


@pytest.mark.parametrize("query", ["?force=1"])
def test_undo_takes_no_parameters(client, query):
    """An unknown parameter is a 400, not ignored."""
    assert client.delete(f"/batches/1{query}").status_code == 400


def test_a_database_failure_midway_is_503_and_changes_nothing(client, drain, engine, monkeypatch):
    """The server failing inside the undo (a lost temporary file) rolls it all back: 503 with the reason, not 500."""
    from sqlalchemy.exc import InternalError

    from services.etl import undo

    load(client, drain, FIRST, "first.csv")
    second = load(client, drain, SECOND, "second.csv")
    before = snapshot(engine)
    restore = undo._restore

    def failing(conn, batch_num):  # noqa: ANN001, ANN202
        restore(conn, batch_num)
        raise InternalError("UPDATE ...", {}, Exception("Error on delete of '/tmp/#sql-update.MAI'"))

    monkeypatch.setattr(undo, "_restore", failing)
    response = client.delete(f"/batches/{second}")
    assert response.status_code == 503
    assert response.json["error"].startswith(f"the database failed during the undo of batch {second}; nothing")
    assert snapshot(engine) == before
    assert client.get(f"/batches/{second}").json["status"] == "completed"
