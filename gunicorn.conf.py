"""gunicorn's settings for `gunicorn 'services.api:create_app()'` (read from the working directory)."""

from common.config import load_settings

_settings = load_settings()

workers = _settings.web_workers
threads = _settings.web_threads
worker_class = "gthread"
# Uploads of hundreds of MB over slow links: the timeout is the worker's heartbeat, not the request's.
timeout = 300
graceful_timeout = 30
keepalive = 5
accesslog = "-"
errorlog = "-"
loglevel = _settings.log_level.lower()
