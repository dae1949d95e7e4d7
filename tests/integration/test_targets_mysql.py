"""Monthly targets on MariaDB: per exact category, replaced whole under concurrent PUTs, shown in the monthly view."""

from __future__ import annotations

import threading

import pytest

from common.queue import FORECAST_QUEUE, queue
from tests.api.test_period_views import SALES, add_run
from tests.etl.test_jobs import load

pytestmark = pytest.mark.integration


def puts_at_once(app, path: str, bodies: list[object]) -> list[int]:  # noqa: ANN001 - a Flask app
    """PUT each body to `path` from its own thread, all at once; the status codes in the order they ended."""
    codes: list[int] = []

    def save(body: object) -> None:
        codes.append(app.test_client().put(path, json=body).status_code)

    threads = [threading.Thread(target=save, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return codes


def test_targets_on_mariadb_round_trip_replace_concurrently_and_show_the_gap(app, client, drain, engine,
                                                                              real_redis, prefix):
    """Targets store per exact category, concurrent replacements all succeed whole, and the monthly view
    (with the measured error structure read back from MariaDB) shows each month's target and gap."""
    batch = load(client, drain, SALES)
    assert batch["status"] == "completed", batch["error_log"]
    queue(real_redis, FORECAST_QUEUE, prefix).empty()
    assert client.put("/categories/north/targets", json={"2023-04": 300, "2023-03": 400}).json == {
        "2023-03": 400.0, "2023-04": 300.0}
    assert client.get("/categories/North/targets").status_code == 404  # names compare exactly

    sets = [{f"2024-{month:02d}": float(i) for month in range(1, 13)} for i in range(6)]
    assert puts_at_once(app, "/categories/monthly/targets", sets) == [200] * 6
    assert client.get("/categories/monthly/targets").json in sets  # one whole set, never a mix

    add_run(engine)
    march, april = client.get("/forecast-data?category=north&grain=month").json
    assert (march["actual"], march["total"], march["target"], march["gap"]) == (150.0, 470.0, 400.0, 70.0)
    assert (april["total"], april["gap"], april["gap_share"]) == (280.0, -20.0, round(-20 / 300, 4))
    assert april["lower_bound"] < april["forecast_value"] < april["upper_bound"]
