"""The response cache of the reads whose answers change only when a commit bumps the read generation.

/forecast-data, /forecast-metrics, /categories (and /categories/<name>/products), /inventory and a
finished batch's /batches/<id> change only when a forecast run is claimed or ends (or its products
do), a batch merges, a category setting, stock or inventory setting changes or forecasts are
refreshed (a batch still loading or forecasting changes with every chunk: it is never kept); each of
those writers replaces
the read generation token in Redis after its commit (common/generation.py). A request reads the
token first (one Redis GET) and serves an entry only when it was stored under that same token; on
a miss it queries the database and stores the body under the token it read *first*, so a commit
racing the read can only make the entry obsolete, never serve stale data to a reader of the new
token. Redis unreachable or the token missing (flushed) means no caching: straight to the database
(a missing token is then recreated, which is safe: it is new, and no entry was stored under it).

Entries also expire after RESPONSE_CACHE_SECONDS: that bounds how long a lost bump (a writer killed
between its commit and the bump, or cut off from Redis) can go unnoticed. Memory is bounded per API
process: at most RESPONSE_CACHE_ENTRIES bodies and RESPONSE_CACHE_MB of them, stored compressed (the
JSON of forecast rows shrinks about sixfold), least recently used out first; bigger bodies than
MAX_BODY_BYTES are never kept.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask import current_app
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import Connection

from common.config import Settings
from common.generation import bump_generation, generation_key, new_token
from services.api import services
from services.api.errors import ApiError

logger = logging.getLogger(__name__)

#: Largest body kept (uncompressed): a bigger answer is a bulk read, not a dashboard's repeated one.
MAX_BODY_BYTES = 1024 * 1024
#: After a Redis error the cache stays off this long, so that requests do not each wait for Redis.
REDIS_BACKOFF_S = 5.0
#: zlib level of the stored bodies: level 1 compresses a 90 kB answer in well under a millisecond.
COMPRESS_LEVEL = 1

Key = tuple[str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class _Entry:
    token: bytes
    body: bytes  # zlib-compressed
    stored_at: float


class ResponseCache:
    """A bounded, thread-safe LRU of response bodies keyed by (endpoint, sorted query args) and read generation."""

    def __init__(self, redis: Redis, prefix: str, *, entries: int, max_bytes: int, max_age_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._redis, self._key = redis, generation_key(prefix)
        self._entries, self._max_bytes, self._max_age_s = entries, max_bytes, max_age_s
        self._clock = clock
        self._lock = threading.Lock()
        self._items: OrderedDict[Key, _Entry] = OrderedDict()
        self._bytes = 0
        self._redis_down_until = 0.0

    @property
    def enabled(self) -> bool:
        """False when RESPONSE_CACHE_ENTRIES or RESPONSE_CACHE_MB is 0."""
        return self._entries > 0 and self._max_bytes > 0

    def __len__(self) -> int:
        return len(self._items)

    def body(self, endpoint: str, args: Iterable[tuple[str, str]], compute: Callable[[], bytes],
             *, keep: Callable[[], bool] = lambda: True) -> bytes:
        """The cached body of this query under the current generation, else `compute()` (stored if `keep()` then)."""
        token = self.token() if self.enabled else None
        if token is None:
            return compute()
        key = (endpoint, tuple(sorted(args)))
        found = self._get(key, token)
        if found is not None:
            return found
        body = compute()
        if keep():
            self._put(key, token, body)
        return body

    def token(self) -> bytes | None:
        """The read generation token (read before querying); None when Redis is away or the token was missing."""
        if self._clock() < self._redis_down_until:
            return None
        try:
            token = self._redis.get(self._key)
            if token is None:
                self._redis.set(self._key, new_token(), nx=True)  # for the next requests; this one is not cached
            return token
        except RedisError as exc:
            self._redis_down_until = self._clock() + REDIS_BACKOFF_S
            logger.warning("response cache off for %.0f s (Redis unavailable): %s", REDIS_BACKOFF_S, exc)
            return None

    def _get(self, key: Key, token: bytes) -> bytes | None:
        with self._lock:
            entry = self._items.get(key)
            if entry is None or entry.token != token or self._clock() - entry.stored_at > self._max_age_s:
                return None
            self._items.move_to_end(key)
        return zlib.decompress(entry.body)

    def _put(self, key: Key, token: bytes, body: bytes) -> None:
        if len(body) > MAX_BODY_BYTES:
            return
        entry = _Entry(token, zlib.compress(body, COMPRESS_LEVEL), self._clock())
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= len(old.body)
            self._items[key] = entry
            self._bytes += len(entry.body)
            while self._items and (len(self._items) > self._entries or self._bytes > self._max_bytes):
                _, evicted = self._items.popitem(last=False)
                self._bytes -= len(evicted.body)


def make_cache(settings: Settings, redis: Redis) -> ResponseCache:
    """The API process's response cache, sized by the RESPONSE_CACHE_* settings."""
    return ResponseCache(redis, settings.queue_prefix, entries=settings.response_cache_entries,
                         max_bytes=settings.response_cache_mb * 1024 * 1024,
                         max_age_s=settings.response_cache_seconds)


def response_cache() -> ResponseCache:
    """The current app's response cache (made on first use from its settings and Redis)."""
    cache = current_app.extensions.get("castflow.cache")
    if cache is None:
        deps = services()
        cache = current_app.extensions.setdefault("castflow.cache", make_cache(deps.settings, deps.redis))
    return cache


def reads_changed() -> None:
    """After an API write's commit that changes cached answers: a new read generation for every API process."""
    deps = services()
    bump_generation(deps.redis, deps.settings.queue_prefix)


def cached_json(endpoint: str, args: Iterable[tuple[str, str]], read: Callable[[Connection], object | None],
                not_found: str) -> bytes:
    """The JSON body of `read(conn)` on the primary, through the response cache; 404 `not_found` when it is None."""
    def compute() -> bytes:
        with services().engine.connect() as conn:
            found = read(conn)
        if found is None:
            raise ApiError(404, not_found)
        return current_app.json.dumps(found).encode()

    return response_cache().body(endpoint, args, compute)
