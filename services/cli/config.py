"""Where the client finds its server: --url / --api-key, else CASTFLOW_URL / CASTFLOW_API_KEY, else defaults.

The CLI runs on the user's machine, so these environment variables are its own configuration (the
server's settings are read in common/config.py, never here). This module is the only place that reads them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

#: Where `castflow dev` (and `python -m services.local`) serves the platform by default.
DEFAULT_URL = "http://127.0.0.1:5000"
URL_VARIABLE = "CASTFLOW_URL"
API_KEY_VARIABLE = "CASTFLOW_API_KEY"


@dataclass(frozen=True)
class ClientConfig:
    """The server to talk to and the key to send (None: send no key)."""

    url: str
    api_key: str | None


def client_config(url: str | None, api_key: str | None, environ: Mapping[str, str] | None = None) -> ClientConfig:
    """Options win over the environment, which wins over the default; an empty value counts as unset."""
    environ = os.environ if environ is None else environ
    chosen_url = url or environ.get(URL_VARIABLE, "").strip() or DEFAULT_URL
    chosen_key = api_key if api_key is not None else environ.get(API_KEY_VARIABLE)
    return ClientConfig(url=chosen_url, api_key=chosen_key or None)
