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

Asking the database on every request still costs a connection checkout and three or four round
trips to PostgreSQL, more than the rest of a cached request. So what a worker read is also
trusted, without asking again, for `IREV_CACHE_SECONDS` (1 s by default), and only while no
process of the same gunicorn instance has committed anything since: every commit bumps a
generation counter kept in memory shared by the workers (created in the master before the fork,
with gunicorn's `preload_app`). Hence:
- a change made through the site (a registration, a cancellation, a staff edit) shows at once on
  the next request, whichever worker answers it (the registrant's own action included);
- a change made elsewhere (the mail worker, a command, psql, another gunicorn instance on another
  machine), or the clock passing a meeting's start, shows within IREV_CACHE_SECONDS. The seat
  counts poll every 30 s, so a second is well inside what a visitor can notice. Set it to 0 to
  ask the database on every request (the version query then still spares the rendering).
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from flask import Flask, current_app, g, has_app_context, request, session
from flask_login import current_user
from sqlalchemy import case, event, exists, func, select

from irev.dates import PARIS
from irev.extensions import db
from irev.models import Meeting, Programme, Registration, RegistrationState, utcnow

#: Keys of app.extensions.
FRESHNESS = "irev_freshness"
PAGES = "irev_page_cache"
MEMO = "irev_memo"


class Freshness:
    """How long a worker may trust what it read: until any commit here, or a short delay.

    The generation counter lives in shared memory (multiprocessing.RawValue, an anonymous
    mapping inherited across fork): a commit in any worker of the instance bumps it for all.
    Lost increments between two workers are harmless: each worker commits before it reads the
    counter to bump it, so the value still moves past anything read before either commit.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = max(0.0, float(seconds))
        self._generation = multiprocessing.RawValue("Q", 0)

    def bump(self) -> None:
        """Mark everything read before now as possibly out of date, in every worker."""
        self._generation.value = (self._generation.value + 1) % 2**64

    def stamp(self) -> tuple[int, float]:
        """Return the mark to keep with a value read now (take it BEFORE reading)."""
        return self._generation.value, time.monotonic()

    def is_fresh(self, stamp: tuple[int, float]) -> bool:
        """Return True when a value read at stamp can still be served without asking again."""
        generation, read_at = stamp
        age = time.monotonic() - read_at
        return generation == self._generation.value and 0 <= age < self.seconds


def init_app(app: Flask) -> None:
    """Create the app's freshness counter (in the gunicorn master) and watch every commit."""
    app.extensions[FRESHNESS] = Freshness(app.config["IREV_CACHE_SECONDS"])
    _watch_commits()


@cache
def _watch_commits() -> None:
    """Bump the generation after every commit of the Flask-SQLAlchemy session (once a process)."""
    event.listen(db.session, "after_commit", _after_commit)


def _after_commit(session_: Any) -> None:
    """Invalidate what every worker has read: the database has just changed."""
    if has_app_context():
        found = current_app.extensions.get(FRESHNESS)
        if found is not None:
            found.bump()


def freshness() -> Freshness:
    """Return the freshness counter of the current application."""
    return freshness_of(current_app)


def freshness_of(app: Flask) -> Freshness:
    """Return the freshness counter of an application."""
    found = app.extensions.get(FRESHNESS)
    if found is None:  # an app built without create_app(): nothing is trusted without asking
        found = app.extensions.setdefault(FRESHNESS, Freshness(0))
    return found


def remember(key: Hashable, compute: Callable[[], Any]) -> Any:
    """Return compute()'s value, read again only once it is no longer fresh (small values)."""
    memo: dict = current_app.extensions.setdefault(MEMO, {})
    fresh = freshness()
    entry = memo.get(key)
    if entry is not None and fresh.is_fresh(entry[0]):
        return entry[1]
    stamp = fresh.stamp()
    value = compute()
    memo[key] = (stamp, value)
    return value


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
    ) -> Any:
        """Return the body kept for key if still valid, or render, keep (if shareable), return.

        A kept body is served as is while fresh (see Freshness); after that, version (a value,
        or a callable asked only then) tells whether it still holds; with None, it is rendered
        again.
        """
        if _personal():
            return render()
        fresh = freshness()
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and fresh.is_fresh(entry.stamp):
            return self._hit(key, entry)
        stamp = fresh.stamp()
        current = version() if callable(version) else version
        if entry is not None and current is not None and entry.version == current:
            entry.stamp = stamp
            return self._hit(key, entry)
        self.misses += 1
        before = _visitor_marks()
        body = render()
        if _visitor_marks() != before:
            return body  # the render wrote a CSRF token or changed the session: never shared
        _mark_shared(stamp)
        with self._lock:
            self._entries[key] = _Entry(current, stamp, body)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return body

    def _hit(self, key: Hashable, entry: _Entry) -> Any:
        """Count a hit and return the kept body."""
        with self._lock:
            if key in self._entries:  # another thread may have pushed it out meanwhile
                self._entries.move_to_end(key)
            self.hits += 1
        _mark_shared(entry.stamp)
        return entry.body

    def clear(self) -> None:
        """Forget every page (tests; nothing else needs it: versions do the invalidation)."""
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = 0


def _mark_shared(stamp: tuple[int, float]) -> None:
    """Tell irev.response_cache that this response is the same for every anonymous visitor."""
    from irev.response_cache import SHARED

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
