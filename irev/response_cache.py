"""Finished responses of the shared public pages, replayed to anonymous visitors without Flask.

The programme page, a meeting page and the seat fragment look the same to every visitor who has
no cookie, and irev.page_cache (with irev.services.cache) already knows when they were last
checked against the database (a commit by any worker of the instance, or IREV_CACHE_SECONDS,
makes that check stale). Running Flask's whole request cycle only to send the same bytes
again costs more than the page itself: context, session, hooks, headers. This WSGI middleware
keeps the finished response (status, headers, body, exactly as Flask sent it after every hook)
and sends it again while the check it came from is fresh. Anything else goes through Flask as usual:

- only GET requests WITHOUT a Cookie header are answered here: a cookie may carry a session
  (a message to show, a CSRF token, a signed-in staff member), so such visitors always get
  Flask; so do HEAD and every other method;
- a response is kept only when the view said so (irev.page_cache.PageCache marks it shareable
  in the WSGI environ), with status 200 and no Set-Cookie;
- the key holds everything the response depends on: scheme, host, path, query string and
  whether the request came from htmx (the views answer HX-Request with a fragment);
- every answer is logged like any other request (irev.logging: one line, tokens masked).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from flask import Flask

from irev import logging as irev_logging
from irev.services import cache

#: WSGI environ key where PageCache leaves the stamp of a shareable body.
SHARED = "irev.shared_stamp"
#: Key of app.extensions.
EXTENSION = "irev_response_cache"
#: Bodies larger than this are not kept (none of the shared pages comes close).
MAX_BODY = 512 * 1024

StartResponse = Callable[..., Any]


class ResponseCache:
    """WSGI middleware replaying kept responses of shared pages to cookie-less GET requests."""

    def __init__(self, app: Flask, wsgi_app: Callable, size: int = 256) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        # The counter irev.services.cache.init_app made: what the kept responses were read under.
        self.freshness = cache.freshness_of(app)
        self.size = size
        self.log = bool(app.config["IREV_REQUEST_LOG"])
        self.hits = 0
        self._entries: OrderedDict[Hashable, tuple[tuple[int, float], str, list, bytes]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        """Answer from a kept response when possible, else run Flask (and keep what it allows)."""
        if environ.get("REQUEST_METHOD") != "GET" or environ.get("HTTP_COOKIE"):
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        key = (
            environ.get("wsgi.url_scheme"),
            environ.get("HTTP_HOST"),
            environ.get("SCRIPT_NAME", ""),
            environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", ""),
            bool(environ.get("HTTP_HX_REQUEST")),
        )
        entry = self._entries.get(key)
        if entry is not None and self.freshness.is_fresh(entry[0]):
            _, status, headers, body = entry
            with self._lock:
                if key in self._entries:
                    self._entries.move_to_end(key)
                self.hits += 1
            start_response(status, list(headers))
            if self.log:
                elapsed = (time.perf_counter() - started) * 1000
                path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
                irev_logging.log_request("GET", path, status[:3], elapsed)
            return [body]
        return self._run_and_keep(key, environ, start_response)

    def _run_and_keep(
        self, key: Hashable, environ: dict, start_response: StartResponse
    ) -> Iterable[bytes]:
        """Run Flask; keep its response when the view marked it shareable."""
        seen: dict[str, Any] = {}

        def capture(status: str, headers: list, exc_info: Any = None) -> Any:
            seen["status"], seen["headers"] = status, headers
            return start_response(status, headers, exc_info)

        result = self.wsgi_app(environ, capture)
        stamp = environ.get(SHARED)
        status, headers = seen.get("status", ""), seen.get("headers") or []
        if (
            stamp is None
            or not status.startswith("200")
            or any(name.lower() == "set-cookie" for name, _ in headers)
        ):
            return result
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if len(body) <= MAX_BODY:
            with self._lock:
                self._entries[key] = (stamp, status, list(headers), body)
                self._entries.move_to_end(key)
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        return [body]

    def clear(self) -> None:
        """Forget every kept response (tests)."""
        with self._lock:
            self._entries.clear()


def init_app(app: Flask) -> None:
    """Put the response cache in front of the application (inside ProxyFix, added later)."""
    middleware = ResponseCache(app, app.wsgi_app)
    app.extensions[EXTENSION] = middleware
    app.wsgi_app = middleware  # type: ignore[method-assign]
