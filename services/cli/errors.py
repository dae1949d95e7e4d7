"""Exit codes and the one exception every command raises to stop with a message in words."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What `castflow` exits with; listed in `castflow --help`."""

    #: Done: the command did what it was asked (an upload --wait: the batch completed).
    OK = 0
    #: The operation failed: a failed batch, or a request the server refused (4xx).
    FAILED = 1
    #: Bad usage: a wrong option or argument, a file that does not exist, a bad date.
    USAGE = 2
    #: The server could not be reached or failed (5xx, or an answer that is not castflow's).
    SERVER = 3
    #: upload --wait-forecasts: the batch loaded, but only some of its forecasts completed (the others failed).
    PARTIAL = 4
    #: Interrupted with Ctrl-C (the shell's convention, 128 + SIGINT).
    INTERRUPTED = 130


class CliError(Exception):
    """A failure told to the user in words (never a traceback), with the exit code it maps to."""

    def __init__(self, message: str, code: ExitCode = ExitCode.FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class HttpError(CliError):
    """The server answered with an error status; `body` is its JSON answer (or {} when it had none)."""

    def __init__(self, status: int, message: str, code: ExitCode, body: dict[str, object]) -> None:
        super().__init__(message, code)
        self.status = status
        self.body = body
