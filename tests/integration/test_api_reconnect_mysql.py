"""The API's engine checks out pooled connections without a ping: after a database restart, at most one 503, then 200s.

The MariaDB here is the test's own server (port 3391-3399), restarted under the API's feet.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from services.api import create_app, services

pytestmark = pytest.mark.integration

READS = ["/batches/1", "/metadata", "/forecast-data?run_id=1", "/categories/x/settings"]


def test_stale_connections_after_a_restart_cost_at_most_one_503(settings, private_mariadb, real_redis):
    """Pooled connections the restart cut: the first read may get 503 JSON, every later read is answered."""
    settings = replace(settings, database_url=private_mariadb.create_database("castflow"))
    app = create_app(settings, redis=real_redis)  # the API's own engine, as gunicorn builds it
    client = app.test_client()
    try:
        with ThreadPoolExecutor(4) as pool:  # several connections in the pool, all idle afterwards
            before = list(pool.map(lambda path: client.get(path).status_code, READS * 4))
        assert set(before) == {200, 404}
        private_mariadb.stop()
        private_mariadb.start()
        answers = [client.get(path) for path in READS * 3]
        assert answers[0].status_code in (404, 503), answers[0].get_data(as_text=True)
        if answers[0].status_code == 503:
            assert answers[0].json["error"]
        assert {a.status_code for a in answers[1:]} == {200, 404}
    finally:
        services_of(app).engine.dispose()


def services_of(app):  # noqa: ANN001, ANN201 - a Flask app and its Services
    """The app's dependencies, outside a request."""
    with app.app_context():
        return services()
