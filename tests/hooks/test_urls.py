"""Which webhook URLs castflow accepts: the rules of url_problem, and WEBHOOK_URL checked at start."""

from __future__ import annotations

import pytest

from common.config import Settings, SettingsError
from common.webhooks import own_address, url_problem, verdict


@pytest.mark.parametrize(("url", "problem"), [
    ("ftp://hooks.example.com/x", "must be an http:// or https:// URL"),
    ("file:///etc/passwd", "must be an http:// or https:// URL"),
    ("hooks.example.com/x", "must be an http:// or https:// URL"),
    ("https:///x", "has no host"),
    ("http://", "has no host"),
    ("https://user:pw@hooks.example.com/x", "must not hold a user name or password"),
    ("https://hooks.example.com:99999/x", "is not a valid URL"),
    ("https://hooks.example.com/a b", "contains spaces or control characters"),
    ("https://hooks.example.com/" + "a" * 2000, "is longer than 2000 characters"),
    ("http://localhost:8080/x", "points at this machine"),
    ("http://api.localhost/x", "points at this machine"),
    ("http://127.0.0.1/x", "points at this machine"),
    ("http://127.8.9.10:9000/x", "points at this machine"),
    ("http://[::1]:9000/x", "points at this machine"),
    ("http://[::ffff:127.0.0.1]/x", "points at this machine"),
    ("http://169.254.169.254/latest/meta-data", "points at this machine"),
    ("http://0.0.0.0:5000/x", "points at this machine"),
])
def test_a_url_that_cannot_receive_webhooks_is_named(url, problem):
    """Each refused URL gets the reason that fits it."""
    assert problem in (url_problem(url) or "")


@pytest.mark.parametrize("url", ["https://hooks.example.com/castflow?token=1", "http://10.0.0.7:8080/hook",
                                 "https://[2001:db8::1]/hook", "http://receiver.internal/"])
def test_receivers_elsewhere_are_accepted(url):
    """Public hosts, private-network addresses (a receiver on the LAN) and IPv6 literals are fine."""
    assert url_problem(url) is None


def test_local_urls_are_accepted_when_allowed():
    """WEBHOOK_ALLOW_LOCAL lets loopback receivers in (development and tests)."""
    assert url_problem("http://127.0.0.1:9000/x", allow_local=True) is None


def test_castflow_itself_is_refused_even_when_local_urls_are_allowed():
    """A URL on the host and port the request reached castflow at is refused, whatever the setting."""
    own = own_address("castflow.example.com", "https")
    assert url_problem("https://CASTFLOW.example.com/batches", own=own) == "points at castflow itself"
    assert url_problem("http://localhost:5000/x", allow_local=True, own=own_address("localhost:5000", "http")) \
        == "points at castflow itself"
    assert url_problem("https://castflow.example.com:8443/x", own=own) is None


@pytest.mark.parametrize(("code", "expected"), [(200, "delivered"), (204, "delivered"), (None, "retry"),
                                                (500, "retry"), (503, "retry"), (301, "give_up"), (400, "give_up"),
                                                (404, "give_up"), (429, "give_up")])
def test_which_answers_are_retried(code, expected):
    """2xx delivered; no answer or 5xx retried; 3xx and 4xx given up."""
    assert verdict(code) == expected


def test_webhook_url_is_checked_at_start():
    """A WEBHOOK_URL that is not http(s) fails at start naming the setting and the problem."""
    with pytest.raises(SettingsError, match="WEBHOOK_URL must be an http:// or https:// URL"):
        Settings.from_env({"WEBHOOK_URL": "ftp://x.example.com", "WEBHOOK_SECRET": "s"})


def test_a_loopback_webhook_url_needs_the_setting():
    """WEBHOOK_URL on 127.0.0.1 fails at start unless WEBHOOK_ALLOW_LOCAL is on."""
    with pytest.raises(SettingsError, match="WEBHOOK_URL points at this machine"):
        Settings.from_env({"WEBHOOK_URL": "http://127.0.0.1:9000/", "WEBHOOK_SECRET": "s"})
    assert Settings.from_env({"WEBHOOK_URL": "http://127.0.0.1:9000/", "WEBHOOK_SECRET": "s",
                              "WEBHOOK_ALLOW_LOCAL": "1"}).webhook_allow_local


def test_webhook_url_needs_a_secret():
    """Every delivery is signed, so WEBHOOK_URL without WEBHOOK_SECRET fails at start."""
    with pytest.raises(SettingsError, match="WEBHOOK_SECRET is required"):
        Settings.from_env({"WEBHOOK_URL": "https://hooks.example.com/"})


def test_the_webhook_secret_stays_out_of_logs():
    """WEBHOOK_SECRET is masked in the settings' repr and listed among the secrets log handlers hide."""
    settings = Settings(webhook_secret="very-secret-value")
    assert "very-secret-value" not in repr(settings)
    assert "very-secret-value" in settings.secrets()


@pytest.mark.parametrize(("name", "value"), [("WEBHOOK_MAX_ATTEMPTS", "0"), ("WEBHOOK_TIMEOUT_SECONDS", "0"),
                                             ("WEBHOOK_RETRY_SECONDS", "-1")])
def test_webhook_limits_are_checked_at_start(name, value):
    """Out-of-range retry and timeout settings fail at start with their name."""
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})
