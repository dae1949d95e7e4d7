"""castflow accuracy against the real API: a seeded run scored on the actuals that came after it."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.accuracy.seed import seed_run
from tests.accuracy.test_realised import END, HISTORY, MODELS, NEXT, load


@pytest.fixture
def scored(client, drain, engine) -> int:
    """Two weeks of history, a run forecasting the next week (p1 too), and three days of actuals: the run."""
    load(client, drain, HISTORY, "history.csv")
    run_id = seed_run(engine, history_end=END, days=7, models=MODELS, naive_scale=5.0, backtest_mase=0.5,
                      products={"p1": (10.0, 8.0, 11.0, 2.0)})
    load(client, drain, NEXT, "next.csv")
    return run_id


def test_accuracy_by_run_as_a_table(castflow, url, scored):
    """Each model's n, MAE, MASE, bias and coverage over the three days, as computed by hand."""
    run = castflow("accuracy", "--category", "north", "--group-by", "run", "--url", url)
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert lines[0].split() == ["run", "id", "model", "n", "MAE", "MASE", "bias", "coverage", "actual", "forecast"]
    assert lines[1].split() == [str(scored), "auto_ets", "3", "6.00", "1.20", "-6.00", "0.00", "31.00", "25.00"]
    assert lines[2].split() == [str(scored), "recommended", "3", "3.67", "0.73", "1.00", "0.33", "31.00", "32.00"]


def test_accuracy_json_is_the_servers_answer(castflow, url, scored, client):
    """--format json prints /accuracy's answer for the same filters."""
    run = castflow("accuracy", "--category", "north", "--model", "recommended", "--format", "json", "--url", url)
    assert json.loads(run.out) == client.get("/accuracy?category=north&model_type=recommended").json


def test_a_products_accuracy_as_csv(castflow, url, scored):
    """--product scores that product's reconciled forecast, by days ahead; CSV has a header row."""
    run = castflow("accuracy", "--category", "north", "--product", "p1", "--format", "csv", "--url", url)
    rows = list(csv.DictReader(io.StringIO(run.out)))
    assert [(r["days_ahead"], r["model_type"], r["n"], r["mae"]) for r in rows] == [
        ("1", "recommended", "1", "0.0"), ("2", "recommended", "1", "2.0"), ("3", "recommended", "1", "1.0")]


def test_nothing_scored_and_bad_options(castflow, url, scored):
    """No score for a category is said in words; --product without --category and a bad date are usage errors."""
    run = castflow("accuracy", "--category", "south", "--url", url)
    assert run.code == 0 and run.out == "" and run.err.startswith("nothing scored yet")
    run = castflow("accuracy", "--product", "p1", "--url", url)
    assert run.code == 2 and "--product needs --category" in run.err
    assert castflow("accuracy", "--from", "2023-13-01", "--url", url).code == 2
