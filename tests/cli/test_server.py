"""Reaching the server: --url / --api-key anywhere, the environment, and every kind of failure in words."""

from __future__ import annotations

import json
import socket
from dataclasses import replace

import pytest

from services.api import create_app
from services.cli.client import KEY_NEEDED, KEY_REFUSED
from services.cli.config import DEFAULT_URL, ClientConfig, client_config


@pytest.fixture
def keyed_url(settings, engine, redis, serve) -> str:
    """The API with API_KEY=s3cret, served over HTTP."""
    return serve(create_app(replace(settings, api_key="s3cret"), engine=engine, redis=redis))


@pytest.fixture
def dead_url() -> str:
    """An address where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_without_a_key_the_401_says_how_to_pass_one(castflow, keyed_url, sales_file):
    """No key against a server that needs one: the message names --api-key and CASTFLOW_API_KEY; exit 1."""
    for argv in (["batches"], ["upload", str(sales_file)]):
        run = castflow(*argv, "--url", keyed_url)
        assert (run.code, run.err) == (1, f"castflow: {KEY_NEEDED}\n")


def test_a_wrong_key_is_named_as_refused(castflow, keyed_url):
    """A key the server does not accept gets its own message."""
    run = castflow("batches", "--url", keyed_url, "--api-key", "wrong")
    assert (run.code, run.err) == (1, f"castflow: {KEY_REFUSED}\n")


@pytest.mark.parametrize("before", [True, False])
def test_the_key_works_before_or_after_the_command(castflow, keyed_url, sales_file, before):
    """--url and --api-key are taken before the subcommand as well as after it."""
    options = ["--url", keyed_url, "--api-key", "s3cret"]
    argv = [*options, "upload", str(sales_file)] if before else ["upload", str(sales_file), *options]
    run = castflow(*argv)
    assert (run.code, run.out) == (0, "uploaded sales.csv as batch 1\n")


def test_environment_gives_url_and_key(castflow, keyed_url, monkeypatch):
    """CASTFLOW_URL and CASTFLOW_API_KEY are used when no option is given."""
    monkeypatch.setenv("CASTFLOW_URL", keyed_url)
    monkeypatch.setenv("CASTFLOW_API_KEY", "s3cret")
    run = castflow("batches", "--json")
    assert (run.code, run.out) == (0, "[]\n")


def test_options_win_over_the_environment(castflow, url, dead_url, monkeypatch):
    """--url overrides CASTFLOW_URL, wherever it is placed."""
    monkeypatch.setenv("CASTFLOW_URL", dead_url)
    assert castflow("batches", "--json").code == 3
    assert castflow("--url", url, "batches", "--json").code == 0
    assert castflow("batches", "--json", "--url", url).code == 0


def test_client_config_precedence():
    """Option, then environment, then the default; an empty key means no key."""
    env = {"CASTFLOW_URL": "http://env:1", "CASTFLOW_API_KEY": "envkey"}
    assert client_config("http://opt:2", "optkey", env) == ClientConfig("http://opt:2", "optkey")
    assert client_config(None, None, env).url == "http://env:1"
    assert client_config(None, None, env).api_key == "envkey"
    assert client_config(None, None, {}).url == DEFAULT_URL
    assert client_config(None, "", env).api_key is None
    assert client_config(None, None, {"CASTFLOW_API_KEY": ""}).api_key is None


def test_connection_refused_is_exit_3_in_words(castflow, dead_url, sales_file):
    """Nothing listening: 'cannot reach castflow at URL', exit 3, no traceback."""
    for argv in (["status", "1"], ["upload", str(sales_file)], ["forecasts", "--category", "c"]):
        run = castflow(*argv, "--url", dead_url)
        assert run.code == 3
        assert run.err.startswith(f"castflow: cannot reach castflow at {dead_url}: ")
        assert "refused" in run.err.lower() and "Traceback" not in run.err


def test_a_bad_url_is_a_usage_error(castflow):
    """A --url that is not an http(s) address stops with exit 2."""
    for bad in ("127.0.0.1:5000", "ftp://host", "http://host:port"):
        run = castflow("batches", "--url", bad)
        assert run.code == 2 and "is not an address like http://" in run.err


def wsgi(status: str, body: bytes, content_type: str = "application/json"):  # noqa: ANN201
    """A tiny WSGI app answering every request the same way."""
    def app(environ, start_response):  # noqa: ANN001, ANN202
        start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
        return [body]
    return app


def test_a_5xx_is_a_server_error_exit_3(castflow, serve):
    """A 5xx is reported as a server error with the server's message; exit 3."""
    url = serve(wsgi("503 Service Unavailable", json.dumps({"error": "the database is unavailable"}).encode()))
    run = castflow("status", "1", "--url", url)
    assert (run.code, run.err) == (3, "castflow: server error (HTTP 503): the database is unavailable\n")


def test_an_answer_that_is_not_json_is_exit_3(castflow, serve):
    """Something other than castflow at the URL (an HTML page) is said so; exit 3."""
    url = serve(wsgi("200 OK", b"<html>hello</html>", "text/html"))
    run = castflow("categories", "--url", url)
    assert run.code == 3 and "is not JSON: is this a castflow server?" in run.err


def test_a_4xx_shows_the_servers_error(castflow, url):
    """Any 4xx prints the server's JSON error and its status; exit 1."""
    run = castflow("batches", "--status", "sideways", "--url", url)
    assert run.code == 1 and run.err.startswith("castflow: ") and "(HTTP 400)" in run.err
    assert "status" in run.err


def test_a_url_with_a_path_prefix_is_kept(castflow, url, serve):
    """A castflow served under a path (behind a proxy) is reached under that path."""
    seen = []

    def prefixed(environ, start_response):  # noqa: ANN001, ANN202
        seen.append(environ["PATH_INFO"])
        return wsgi("200 OK", b"[]")(environ, start_response)

    assert castflow("batches", "--url", serve(prefixed) + "/castflow/").code == 0
    assert seen == ["/castflow/metadata"]
