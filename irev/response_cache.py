"""Finished responses of the shared public pages, replayed to anonymous visitors without Flask.

The programme page, a meeting page and the seat fragment look the same to every visitor who has
no cookie, and irev.page_cache (with irev.services.cache) already knows when they were last
checked against the database (a commit by any worker of the instance, or IREV_CACHE_SECONDS,
makes that check stale). Running Flask's whole request cycle only to send the same bytes
again costs more than the page itself: context, session, hooks, headers. This WSGI middleware
keeps the finished response (status, headers, body, exactly as Flask sent it after every hook)
and sends it again while the check it came from is fresh. Anything else goes through Flask as usual:

- only GET requests are answered here, from visitors without a cookie or whose only cookie is
  a validly signed session holding nothing but a CSRF token (a visitor who opened the form:
  these pages show nothing of it, and Flask would send them the same bytes, no Set-Cookie).
  Any other cookie or session key (a message to show, a signed-in staff member, the address a
  form was sent for, a remember cookie), a bad signature, HEAD and every other method: Flask;
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
from itsdangerous import BadSignature
from werkzeug.http import parse_cookie

from irev import logging as irev_logging
from irev.services import cache

#: WSGI environ key where PageCache leaves the stamp of a shareable body.
SHARED = "irev.shared_stamp"
#: Key of app.extensions.
EXTENSION = "irev_response_cache"
#: Session keys that leave a visitor anonymous on the shared pages: Flask-WTF's raw token, and
#: Flask-Login's "_fresh" mark, which it writes for visitors who never signed in too.
ANONYMOUS_SESSION_KEYS = frozenset({"csrf_token", "_fresh"})
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
        if environ.get("REQUEST_METHOD") != "GET":
            return self.wsgi_app(environ, start_response)
        cookie = environ.get("HTTP_COOKIE")
        if cookie and not self._only_a_csrf_session(cookie):
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

    def _only_a_csrf_session(self, header: str) -> bool:
        """Return True when the only cookie is a valid session holding a CSRF token at most."""
        cookies = parse_cookie(header)
        name = self.app.config["SESSION_COOKIE_NAME"]
        if set(cookies) != {name}:
            return False
        serializer = self.app.session_interface.get_signing_serializer(self.app)
        if serializer is None:
            return False
        max_age = int(self.app.permanent_session_lifetime.total_seconds())
        try:
            data = serializer.loads(cookies[name], max_age=max_age)
        except BadSignature:
            return False
        return (
            isinstance(data, dict)
            and set(data) <= ANONYMOUS_SESSION_KEYS
            and not data.get("_fresh")
        )

    def clear(self) -> None:
        """Forget every kept response (tests)."""
        with self._lock:
            self._entries.clear()


def init_app(app: Flask) -> None:
    """Put the response cache in front of the application (inside ProxyFix, added later)."""
    middleware = ResponseCache(app, app.wsgi_app)
    app.extensions[EXTENSION] = middleware
    app.wsgi_app = middleware  # type: ignore[method-assign]
