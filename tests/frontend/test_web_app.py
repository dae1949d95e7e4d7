"""The web app's own suites, run from pytest so that one command runs every test.

Vitest runs the component tests; Playwright drives Debian's Chromium through the real platform (started by the e2e suite
itself on a temporary SQLite database). Without Node.js or Chromium these are skipped with a banner; set
CASTFLOW_REQUIRE_BROWSER=1 (CI does) to make that an error instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
CHROMIUM = Path("/usr/bin/chromium")


def _missing_tool_or_none(need_browser: bool) -> str | None:
    """Why the web app's suites cannot run here, or None when they can."""
    if shutil.which("npm") is None:
        return "Node.js/npm is not installed"
    if not (FRONTEND / "node_modules").is_dir():
        return "the web app's npm packages are not installed (python3 dev.py test installs them)"
    if need_browser and not CHROMIUM.exists():
        return "Debian's chromium is not installed (apt-get install chromium)"
    return None


def _run_or_skip(script: str, *, need_browser: bool) -> None:
    why = _missing_tool_or_none(need_browser)
    if why is not None:
        message = f"\n{'!' * 78}\n!! SKIPPING the web app's {script}: {why}\n{'!' * 78}"
        if os.environ.get("CASTFLOW_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        print(message, file=sys.stderr)
        pytest.skip(why)
    env = {**os.environ, "CASTFLOW_PYTHON": sys.executable}
    result = subprocess.run(["npm", "run", script], cwd=FRONTEND, env=env, capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, f"npm run {script} failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"


def test_component_tests_pass():
    """The Vitest component and unit tests of the web app pass."""
    _run_or_skip("test:unit", need_browser=False)


def test_end_to_end_in_chromium():
    """Upload, batch, chart and download work in a real headless Chromium against the real platform."""
    _run_or_skip("test:e2e", need_browser=True)
