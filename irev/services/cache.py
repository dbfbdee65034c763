"""Rendered pages kept between requests, reused while a version read from the database holds.

The programme page costs dozens of templates and formatted dates, yet nothing on it changes
between two visitors unless the programme, a meeting, a seat count or a waiting list changes, or
the clock passes a meeting's start, end or registration window. `programme_version()` reads all
of that in ONE light SQL statement (no ORM objects); the page is rendered again only when the
version differs. Each gunicorn worker keeps its own copy, and each sees any change at its next
request, whichever process, command or SQL session made it: the version comes from the shared
database, not from in-process events. Seat counts therefore stay live.

A page is kept only if rendering it wrote nothing personal (no CSRF token, no change to the
session), and signed-in staff or a visitor with a pending message always get a fresh render:
what one visitor sees must never be served to another.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import datetime
from functools import cache

from flask import current_app, g, session
from flask_login import current_user
from sqlalchemy import case, exists, func, select

from irev.dates import PARIS
from irev.extensions import db
from irev.models import Meeting, Programme, Registration, RegistrationState, utcnow


class PageCache:
    """A small per-process map of key -> (version, rendered body), least recently used out."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, tuple[Hashable, str]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_or_render(self, key: Hashable, version: Hashable, render: Callable[[], str]) -> str:
        """Return the body kept for key at this version, or render, keep (if shareable), return."""
        if _personal():
            return render()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == version:
                self._entries.move_to_end(key)
                self.hits += 1
                return entry[1]
        self.misses += 1
        before = _visitor_marks()
        body = render()
        if _visitor_marks() != before:
            return body  # the render wrote a CSRF token or changed the session: never shared
        with self._lock:
            self._entries[key] = (version, body)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return body

    def clear(self) -> None:
        """Forget every page (tests; nothing else needs it: versions do the invalidation)."""
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = 0


def _personal() -> bool:
    """Return True when this visitor's page may differ from the anonymous one (staff, flashes)."""
    if session.get("_flashes"):
        return True
    return bool(current_app.login_manager and current_user.is_authenticated)


def _visitor_marks() -> tuple[bool, bool]:
    """Return whether a CSRF token was made for this request and whether the session changed."""
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    return field in g, bool(getattr(session, "modified", False))


def pages() -> PageCache:
    """Return the page cache of the current application (each app, each test, has its own)."""
    return current_app.extensions.setdefault("irev_page_cache", PageCache())


def current_programme_id():
    """Return a scalar subquery: the current programme (as get_current_programme chooses it)."""
    return (
        select(Programme.id)
        .where(Programme.published.is_(True))
        .order_by(Programme.year.desc())
        .limit(1)
        .scalar_subquery()
    )


@cache
def _programme_version_statement():
    """Build the version statement once (SQLAlchemy then reuses its compiled form)."""
    waiting = (
        select(func.count(Registration.id))
        .where(
            Registration.meeting_id == Meeting.id,
            Registration.state == RegistrationState.WAITING,
        )
        .correlate(Meeting)
        .scalar_subquery()
    )
    return (
        select(
            Programme.id,
            Programme.updated_at,
            exists().where(Programme.is_demo.is_(True)).correlate(None).label("demo"),
            Meeting.id,
            Meeting.updated_at,
            Meeting.seats_taken,
            Meeting.capacity,
            Meeting.status,
            Meeting.sequence,
            Meeting.starts_at,
            Meeting.ends_at,
            Meeting.registration_opens_at,
            Meeting.registration_closes_at,
            case((Meeting.seats_taken >= Meeting.capacity, waiting), else_=0),
        )
        .select_from(Programme)
        .outerjoin(Meeting, Meeting.programme_id == Programme.id)
        .where(Programme.id == current_programme_id())
        .order_by(Meeting.id)
    )


def programme_version(now: datetime | None = None) -> tuple:
    """Return what the programme page shows that can change, read in one SQL statement.

    Per meeting: its last update, seats, capacity, status and, when full, the length of its
    waiting list; per programme: its last update and the demonstration flag; and how many time
    boundaries (starts, ends, registration windows) are behind us, plus today's date in Paris.
    """
    now = now or utcnow()
    # Core execution on the session's connection: same transaction, none of the ORM's work.
    rows = db.session.connection().execute(_programme_version_statement()).all()
    passed = 0
    version = []
    for row in rows:
        version.append((*row[:9], row[13]))
        passed += sum(1 for moment in row[9:13] if moment is not None and moment <= now)
    return (now.astimezone(PARIS).date(), passed, tuple(version))
