"""Rendered pages kept between requests, reused while a version read from the database holds.

The programme page costs dozens of templates and formatted dates, yet nothing on it changes
between two visitors unless the programme, a meeting, a seat count or a waiting list changes, or
the clock passes a meeting's start, end or registration window. irev.services.cache reads that
version and says how long what was read stays fresh; this module, which needs the request, the
session and the signed-in user, decides whether a rendered body may be shared and keeps it.

A page is kept only if rendering it wrote nothing personal (no CSRF token, no change to the
session), and signed-in staff or a visitor with a pending message always get a fresh render:
what one visitor sees must never be served to another. A kept page is marked shareable in the
WSGI environ, where irev.response_cache picks it up for cookie-less visitors.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from flask import current_app, g, request, session
from flask_login import current_user

from irev.response_cache import SHARED
from irev.services.cache import freshness

#: Key of app.extensions.
PAGES = "irev_page_cache"


@dataclass
class _Entry:
    """One kept page: the version it was rendered at, when that was last checked, the body."""

    version: Hashable
    stamp: tuple[int, float]
    body: Any


class PageCache:
    """A small per-process map of key -> rendered body, least recently used out."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_or_render(
        self,
        key: Hashable,
        version: Hashable | Callable[[], Hashable] | None,
        render: Callable[[], Any],
        *,
        share: bool = True,
    ) -> Any:
        """Return the body kept for key if still valid, or render, keep (if shareable), return.

        A kept body is served as is while fresh (see Freshness); after that, version (a value,
        or a callable asked only then) tells whether it still holds; with None, it is rendered
        again. share=False keeps a part of a page that is not the same for every visitor (the
        registration form: its CSRF token): the response is never marked shareable.
        """
        if _personal():
            return render()
        fresh = freshness()
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and fresh.is_fresh(entry.stamp):
            return self._hit(key, entry, share)
        stamp = fresh.stamp()
        current = version() if callable(version) else version
        if entry is not None and current is not None and entry.version == current:
            entry.stamp = stamp
            return self._hit(key, entry, share)
        self.misses += 1
        before = _visitor_marks()
        body = render()
        if _visitor_marks() != before:
            return body  # the render wrote a CSRF token or changed the session: never shared
        if share:
            _mark_shared(stamp)
        with self._lock:
            self._entries[key] = _Entry(current, stamp, body)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return body

    def _hit(self, key: Hashable, entry: _Entry, share: bool = True) -> Any:
        """Count a hit and return the kept body."""
        with self._lock:
            if key in self._entries:  # another thread may have pushed it out meanwhile
                self._entries.move_to_end(key)
            self.hits += 1
        if share:
            _mark_shared(entry.stamp)
        return entry.body

    def clear(self) -> None:
        """Forget every page (tests; nothing else needs it: versions do the invalidation)."""
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = 0


def _mark_shared(stamp: tuple[int, float]) -> None:
    """Tell irev.response_cache that this response is the same for every anonymous visitor."""
    request.environ[SHARED] = stamp


def _personal() -> bool:
    """Return True when this visitor's page may differ from the anonymous one (staff, flashes)."""
    if session.get("_flashes"):
        return True
    if not getattr(current_app, "login_manager", None):
        return False
    remember = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    if "_user_id" not in session and remember not in request.cookies:
        # Staff sign in through the session (or its remember cookie) only: this visitor is
        # anonymous, and loading the user would hash their address and browser for nothing.
        # Should a render meet a signed-in user anyway, _visitor_marks() keeps it unshared.
        return False
    return bool(current_user.is_authenticated)


def _visitor_marks() -> tuple[bool, bool, bool]:
    """Return whether this request made a CSRF token, changed the session, met a signed-in user."""
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    user = g.get("_login_user")
    return (
        field in g,
        bool(getattr(session, "modified", False)),
        bool(user is not None and user.is_authenticated),
    )


def pages() -> PageCache:
    """Return the page cache of the current application (each app, each test, has its own)."""
    return current_app.extensions.setdefault(PAGES, PageCache())
