"""The HTTP client: the standard library's http.client, one connection per request, failures in words."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import IO, Any
from urllib.parse import urlencode, urlsplit

from services.cli.errors import CliError, ExitCode, HttpError
from services.cli.multipart import MultipartBody

#: Seconds a request may wait for the server to connect or send its next bytes.
TIMEOUT_S = 60.0
#: Seconds for an export: a large workbook is built whole before its first byte leaves the server.
DOWNLOAD_TIMEOUT_S = 600.0
#: Bytes read from a download at a time.
READ_BYTES = 256 * 1024
#: Most bytes of an error answer read (a JSON error is small; an HTML page from a proxy need not be read whole).
MAX_ERROR_BYTES = 64 * 1024
KEY_NEEDED = "the server needs an API key: pass --api-key or set CASTFLOW_API_KEY"
KEY_REFUSED = "the server refused the API key: check --api-key or CASTFLOW_API_KEY"

Params = Mapping[str, object] | None


class Client:
    """Talks to one castflow server: `get_json`, `upload`, `download`; raises CliError or HttpError."""

    def __init__(self, url: str, api_key: str | None = None, *, timeout: float = TIMEOUT_S) -> None:
        parts = urlsplit(url)
        try:
            parts.port  # noqa: B018 - a malformed port raises here
        except ValueError:
            parts = parts._replace(netloc="")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CliError(f"--url {url!r} is not an address like http://127.0.0.1:5000", ExitCode.USAGE)
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self._parts = parts

    def get_json(self, path: str, params: Params = None) -> Any:
        """GET `path` and return its decoded JSON answer."""
        with self._open("GET", path, params) as response:
            return self._json(response)

    def upload(self, body: MultipartBody, on_sent: Callable[[int], None] | None = None) -> dict[str, Any]:
        """POST the multipart body to /upload in chunks, calling on_sent(bytes so far); the JSON answer."""
        headers = {"Content-Type": body.content_type, "Content-Length": str(len(body))}
        with self._open("POST", "/upload", None, body=_counted(body, on_sent), headers=headers) as response:
            return self._json(response)

    def download(self, path: str, params: Params, sink: IO[bytes],
                 on_received: Callable[[int, int | None], None] | None = None) -> int:
        """GET `path` and stream its body into `sink`; return the bytes written."""
        with self._open("GET", path, params, headers={"Accept": "*/*"},
                        timeout=max(self.timeout, DOWNLOAD_TIMEOUT_S)) as response:
            length = response.getheader("Content-Length")
            total = int(length) if length and length.isdigit() else None
            received = 0
            while chunk := response.read(READ_BYTES):
                _write(sink, chunk)
                received += len(chunk)
                if on_received:
                    on_received(received, total)
            if total is not None and received != total:
                # http.client's read(n) ends quietly at a closed connection; a short body is a broken one.
                raise http.client.IncompleteRead(b"", total - received)
            return received

    @contextmanager
    def _open(self, method: str, path: str, params: Params, *, body: object = None,
              headers: Mapping[str, str] | None = None, timeout: float | None = None
              ) -> Iterator[http.client.HTTPResponse]:
        connection = self._connect(timeout or self.timeout)
        try:
            response = self._send(connection, method, self._target(path, params), body, headers or {})
            if response.status >= 400:
                raise self._error(response)
            yield response
        except (OSError, http.client.HTTPException) as exc:
            raise CliError(f"lost the connection to castflow at {self.url}: {_reason(exc)}", ExitCode.SERVER) from None
        finally:
            connection.close()

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if self._parts.scheme == "https" else http.client.HTTPConnection
        connection = kind(self._parts.hostname, self._parts.port, timeout=timeout)
        try:
            connection.connect()
        except OSError as exc:
            connection.close()
            raise CliError(f"cannot reach castflow at {self.url}: {_reason(exc)}", ExitCode.SERVER) from None
        return connection

    def _send(self, connection: http.client.HTTPConnection, method: str, target: str, body: object,
              headers: Mapping[str, str]) -> http.client.HTTPResponse:
        sent_headers = {"Accept": "application/json", "User-Agent": "castflow-cli", **headers}
        if self.api_key:
            sent_headers["X-API-Key"] = self.api_key
        # The server may refuse an upload (413, 401) before reading it all and hang up; its answer says why.
        with suppress(BrokenPipeError, ConnectionResetError):
            connection.request(method, target, body=body, headers=sent_headers)
        return connection.getresponse()

    def _target(self, path: str, params: Params) -> str:
        query = urlencode({k: v for k, v in (params or {}).items() if v is not None})
        return self._parts.path.rstrip("/") + path + (f"?{query}" if query else "")

    def _json(self, response: http.client.HTTPResponse) -> Any:
        try:
            return json.loads(response.read())
        except ValueError:
            raise CliError(f"the answer from {self.url} is not JSON: is this a castflow server?",
                           ExitCode.SERVER) from None

    def _error(self, response: http.client.HTTPResponse) -> HttpError:
        raw = response.read(MAX_ERROR_BYTES)
        body = _json_object(raw)
        message = str(body.get("error") or raw.decode("utf-8", "replace").strip()[:200] or response.reason)
        status = response.status
        if status == 401:
            return HttpError(status, KEY_REFUSED if self.api_key else KEY_NEEDED, ExitCode.FAILED, body)
        if status >= 500:
            return HttpError(status, f"server error (HTTP {status}): {message}", ExitCode.SERVER, body)
        return HttpError(status, f"{message} (HTTP {status})", ExitCode.FAILED, body)


def _counted(body: MultipartBody, on_sent: Callable[[int], None] | None) -> Iterator[bytes]:
    sent = 0
    for chunk in body:
        yield chunk
        # http.client asks for the next chunk only once it has sent this one.
        sent += len(chunk)
        if on_sent:
            on_sent(sent)


def _write(sink: IO[bytes], chunk: bytes) -> None:
    try:
        sink.write(chunk)
    except OSError as exc:
        # Not the connection's fault: say so, rather than let it pass for a network error.
        raise CliError(f"cannot write {getattr(sink, 'name', 'the output')}: {_reason(exc)}", ExitCode.FAILED) from None


def _json_object(raw: bytes) -> dict[str, object]:
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
