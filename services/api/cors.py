"""Cross-origin requests from browsers: off unless CORS_ORIGINS lists the exact origins allowed.

With CORS on, a preflight (OPTIONS with Origin and Access-Control-Request-Method) from a listed
origin is answered at once, before the key check (browsers send no custom header in a preflight), and
every answer to a listed origin names that origin, never `*`: the key travels in a header, and a
wildcard would let any site that learns a key use it from its visitors' browsers.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, Response, request

#: What a browser may send cross-origin.
ALLOWED_METHODS = "GET, HEAD, POST, PUT, DELETE, OPTIONS"
ALLOWED_HEADERS = "X-API-Key, Content-Type"
#: Response headers a script may read (the file name of a download).
EXPOSED_HEADERS = "Content-Disposition"
#: How long (seconds) a browser may reuse a preflight's answer.
MAX_AGE_S = 600


def register_cors(app: Flask, origins: Iterable[str]) -> None:
    """Answer preflights and mark responses for `origins`; with none, add nothing at all."""
    allowed = frozenset(origins)
    if not allowed:
        return

    def preflight() -> Response | None:
        if not is_preflight(request.method, request.headers) or request.headers["Origin"] not in allowed:
            return None
        answer = Response(status=204)
        answer.headers.update({
            "Access-Control-Allow-Methods": ALLOWED_METHODS,
            "Access-Control-Allow-Headers": ALLOWED_HEADERS,
            "Access-Control-Max-Age": str(MAX_AGE_S),
        })
        return answer

    def mark(response: Response) -> Response:
        response.vary.add("Origin")
        origin = request.headers.get("Origin")
        if origin in allowed:
            response.headers["Access-Control-Allow-Origin"] = origin
            if not is_preflight(request.method, request.headers):
                response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        return response

    # First among the before_request hooks: a preflight carries no key.
    app.before_request_funcs.setdefault(None, []).insert(0, preflight)
    app.after_request(mark)


def is_preflight(method: str, headers: object) -> bool:
    """True for a CORS preflight: OPTIONS naming an Origin and the method it asks about."""
    return method == "OPTIONS" and "Origin" in headers and "Access-Control-Request-Method" in headers
