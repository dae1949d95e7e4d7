"""gunicorn's settings for `gunicorn 'services.api:create_app()'` (read from the working directory)."""

import sys

from gunicorn import glogging

from common.config import SettingsError, load_settings
from common.logs import format_handlers

try:
    _settings = load_settings()
except SettingsError as exc:
    # Refuse to start with the reason alone; gunicorn would wrap it in a traceback.
    sys.exit(f"castflow: configuration error: {exc}")

workers = _settings.web_workers
threads = _settings.web_threads
worker_class = "gthread"
# Uploads of hundreds of MB over slow links: the timeout is the worker's heartbeat, not the request's.
# A request's database work is bounded by API_QUERY_TIMEOUT_SECONDS instead.
timeout = 300
graceful_timeout = 30
keepalive = 5
# SO_REUSEPORT: the kernel spreads new connections over the workers. Without it one worker, the first
# to wake, often accepted every keep-alive connection of a burst (50/0 at 50 clients: one core served).
reuse_port = True
accesslog = "-"
errorlog = "-"
loglevel = _settings.log_level.lower()


class CastflowLogger(glogging.Logger):
    """gunicorn's own records (start-up, errors, access lines) in LOG_FORMAT, with secrets masked."""

    def setup(self, cfg) -> None:  # noqa: ANN001 - gunicorn's Config
        """gunicorn's set-up, then castflow's formatter on each of its handlers."""
        super().setup(cfg)
        format_handlers([*self.error_log.handlers, *self.access_log.handlers], _settings.log_format,
                        _settings.secrets())


logger_class = CastflowLogger
