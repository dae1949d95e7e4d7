#!/usr/bin/env python3
"""castflow's two set-up commands, for a fresh machine with nothing but Python 3.11+.

    python3 dev.py run    create .venv, install castflow, run the platform locally (Ctrl-C stops it)
    python3 dev.py test   create .venv, install castflow with its test tools, run the whole test suite

Extra arguments are passed on (`python3 dev.py run --port 8000`, `python3 dev.py test -k upload`).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


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
        os.chdir(ROOT)
        os.execv(PYTHON, [str(PYTHON), "-m", "services.local", *rest])
    elif command == "test":
        ensure_venv("dev")
        os.chdir(ROOT)
        os.execv(PYTHON, [str(PYTHON), "-m", "pytest", *rest])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
