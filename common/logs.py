"""Logging set-up, called by entry points only (never at import)."""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s"


def setup_logging(level: str = "INFO") -> None:
    """Log to stderr in one line per record, with the process id (workers fork per job)."""
    logging.basicConfig(level=level.upper(), format=FORMAT, stream=sys.stderr, force=True)
