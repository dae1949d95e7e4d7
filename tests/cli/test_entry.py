"""The entry points: the installed `castflow` script, `python -m services.cli`, --help, and `castflow dev`."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

import services.local
from services import cli

ROOT = Path(__file__).resolve().parents[2]


def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run a command in a child process from the project root, without the developer's CASTFLOW_* settings."""
    env = {"PATH": "/usr/bin:/bin", "CASTFLOW_URL": "", "CASTFLOW_API_KEY": ""}
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_installed_script_shows_help_with_exit_codes():
    """`castflow --help` (the console script pip installed) lists the commands and the exit codes."""
    script = Path(sys.executable).with_name("castflow")
    assert script.is_file(), "castflow is not installed: pip install -e ."
    done = run([str(script), "--help"])
    assert done.returncode == 0, done.stderr
    for words in ("upload", "status", "forecasts", "export", "categories", "batches", "dev", "exit codes",
                  "CASTFLOW_URL", "CASTFLOW_API_KEY", "3    the server could not be reached"):
        assert words in done.stdout


def test_python_m_services_cli_runs_a_command():
    """`python -m services.cli` runs the same client: a refused connection is a message and exit 3."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = run([sys.executable, "-m", "services.cli", "status", "1", "--url", f"http://127.0.0.1:{port}"])
    assert done.returncode == 3
    assert done.stderr.startswith(f"castflow: cannot reach castflow at http://127.0.0.1:{port}: ")
    assert "Traceback" not in done.stderr


def test_no_command_is_a_usage_error(capsys):
    """castflow without a command prints its usage and exits 2."""
    assert cli.main([]) == 2
    assert "usage: castflow" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "passed"), [
    (["dev"], []),
    (["dev", "--port", "8000", "--host", "0.0.0.0"], ["--port", "8000", "--host", "0.0.0.0"]),
    (["--url", "http://x:1", "dev", "--help"], ["--help"]),
    (["--api-key=k", "dev", "--url", "kept"], ["--url", "kept"]),
])
def test_dev_hands_its_arguments_to_the_local_run(monkeypatch, argv, passed):
    """`castflow dev ARGS` runs services.local's main in this process with ARGS untouched, and returns its code."""
    calls: list[list[str]] = []
    monkeypatch.setattr(services.local, "main", lambda args: calls.append(args) or 7)
    assert cli.main(argv) == 7
    assert calls == [passed]


def test_dev_help_is_the_local_runs_help(capsys):
    """`castflow dev --help` shows the local run's own options (it is the same program)."""
    assert cli.main(["dev", "--help"]) == 0
    assert "--port" in capsys.readouterr().out
    assert cli.main(["dev", "--port", "eighty"]) == 2
