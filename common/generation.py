"""The read generation: a token in Redis that a writer replaces after each commit that changes cached reads.

The API caches the answers of some reads (services/api/cache.py) under the token it read *before*
querying the database; a writer sets a new random token *after* its commit. A reader that saw the
new token therefore queried after the commit, and an answer cached under an older token is never
served again: a commit racing a read can only make an entry obsolete, never serve stale data.

Who bumps it: the ETL after a batch's merge, the forecast job after it claims and after it ends a
run, the API after a category setting changes, forecasts are refreshed, category_stats is filled, or
stock or a category's inventory settings are stored.
"""

from __future__ import annotations

import logging
import secrets

from redis import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

#: The token's key, after QUEUE_PREFIX (deployments sharing one Redis keep their own).
GENERATION_KEY = "castflow:read-generation"


def generation_key(prefix: str = "") -> str:
    """The Redis key of the read generation token for QUEUE_PREFIX `prefix`."""
    return f"{prefix}{GENERATION_KEY}"


def new_token() -> str:
    """A fresh random token (never equal to an earlier one in practice)."""
    return secrets.token_hex(8)


def bump_generation(redis: Redis | None, prefix: str = "") -> None:
    """Set a new token after a commit that changed cached answers; logs, never raises, when Redis is away."""
    if redis is None:
        return
    try:
        redis.set(generation_key(prefix), new_token())
    except RedisError as exc:
        # The commit stands; API processes stop serving older entries after RESPONSE_CACHE_SECONDS at most.
        logger.warning("read generation not renewed (Redis unavailable): %s", exc)
