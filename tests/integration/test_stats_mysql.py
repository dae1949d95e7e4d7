"""category_stats on the real MariaDB/MySQL: the unit scenarios again, through the MySQL statements."""

from __future__ import annotations

import pytest

from tests.etl.test_stats import *  # noqa: F403 - the same scenarios, run here against MariaDB + Redis

pytestmark = pytest.mark.integration
