#!/usr/bin/env python3
"""castflow's two set-up commands, for a fresh machine with nothing but Python 3.11+.

    python3 dev.py run    create .venv, install castflow, build the web app, run the platform locally (Ctrl-C stops it)
    python3 dev.py test   create .venv, install castflow with its test tools, build the web app, run all tests

The web app (frontend/) is built with Node.js 20+ and npm when they are on PATH; without them the API serves a plain
upload page that says the web app is not built, and the browser tests are skipped with a banner.

Extra arguments are passed on (`python3 dev.py run --port 8000`, `python3 dev.py test -k upload`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
FRONTEND = ROOT / "frontend"
#: Folders under frontend/ that are not sources of the built app.
NOT_SOURCES = {"node_modules", "dist", "e2e", "plain", "test-artifacts"}


def ensure_venv(extras: str) -> None:
    """Create .venv and (re)install castflow when pyproject.toml or the extras changed."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs before any venv exists
        sys.exit(f"castflow needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        print("creating .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    stamp = VENV / ".castflow-installed"
    installed = stamp.read_text().split() if stamp.exists() else []
    if wanted in installed:
        return
    target = f".[{extras}]" if extras else "."
    print(f"installing castflow{f' [{extras}]' if extras else ''} into .venv (first run takes a few minutes) …",
          flush=True)
    run([PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    run([PYTHON, "-m", "pip", "install", "--quiet", "-e", target])
    stamp.write_text("\n".join([*installed, wanted]))


def build_frontend() -> None:
    """Install the web app's npm packages and build it into frontend/dist when Node.js is here and it is stale."""
    npm = shutil.which("npm")
    if not (FRONTEND / "package.json").exists():
        return
    if npm is None:
        print("Node.js/npm not found: the web app is not built; the API serves its plain upload page", flush=True)
        return
    installed = FRONTEND / "node_modules" / ".package-lock.json"  # npm rewrites it on every install
    if not installed.exists() or _mtime(installed) < _mtime(FRONTEND / "package-lock.json"):
        print("installing the web app's npm packages …", flush=True)
        if not _attempt([npm, "ci", "--no-audit", "--no-fund"]):
            return
    built = FRONTEND / "dist" / "index.html"
    if not built.exists() or _mtime(built) < _newest_source():
        print("building the web app …", flush=True)
        _attempt([npm, "run", "build"])


def _attempt(argv: list[str]) -> bool:
    """Run an npm step in frontend/; a failure is reported, not fatal (the platform runs without the web app)."""
    if subprocess.run(argv, cwd=FRONTEND).returncode == 0:
        return True
    print(f"!! `{' '.join(argv[1:])}` failed in frontend/: the web app may be missing or stale", flush=True)
    return False


def _newest_source() -> float:
    """The latest modification time among the web app's sources."""
    newest = 0.0
    for folder, dirs, files in os.walk(FRONTEND):
        dirs[:] = [d for d in dirs if d not in NOT_SOURCES]
        newest = max([newest, *(_mtime(Path(folder) / f) for f in files)])
    return newest


def _mtime(path: Path) -> float:
    return path.stat().st_mtime


def run(argv: list[object]) -> None:
    """Run a command in the project directory, stopping on failure."""
    result = subprocess.run([str(a) for a in argv], cwd=ROOT)
    if result.returncode:
        sys.exit(result.returncode)


def main() -> None:
    """Dispatch `run` or `test`."""
    command, rest = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("", [])
    if command == "run":
        ensure_venv("")
        build_frontend()
        os.chdir(ROOT)
        os.execv(PYTHON, [str(PYTHON), "-m", "services.local", *rest])
    elif command == "test":
        ensure_venv("dev")
        build_frontend()
        os.chdir(ROOT)
        os.execv(PYTHON, [str(PYTHON), "-m", "pytest", *rest])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
