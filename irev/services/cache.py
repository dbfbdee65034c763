"""What a worker read from the database, trusted without asking again while it is fresh.

The data half of the page cache (the web half, which looks at the request, the session and the
signed-in user, is irev.page_cache). `programme_version()` reads in ONE light SQL statement (no
ORM objects) everything the programme page shows that can change: the programme, its meetings,
seat counts, waiting lists, and how many of the meetings' start, end and registration-window
moments are behind us. A page is rendered again only when that version differs. The version
comes from the shared database, not from in-process events, so each gunicorn worker sees any
change at its next check, whichever process, command or SQL session made it.

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
import time
from collections.abc import Callable, Hashable
from datetime import datetime
from functools import cache
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import case, event, exists, func, select

from irev.dates import PARIS
from irev.extensions import db
from irev.models import Meeting, Programme, Registration, RegistrationState, utcnow
from irev.services.programmes import current_first

#: Keys of app.extensions.
FRESHNESS = "irev_freshness"
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


def current_programme_id():
    """Return a scalar subquery: the current programme (as get_current_programme chooses it)."""
    return (
        select(Programme.id)
        .where(Programme.published.is_(True))
        .order_by(*current_first())
        .limit(1)
        .scalar_subquery()
    )


@cache
def _programme_version_statement(every_published: bool = False):
    """Build the version statement once per scope (SQLAlchemy then reuses its compiled form).

    every_published: every published cycle's meetings (what the registration form offers),
    and which cycle is current (it gives « toute la saison »); else the current cycle only.
    """
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
        .where(
            Programme.published.is_(True)
            if every_published
            else Programme.id == current_programme_id()
        )
        .order_by(Programme.id, Meeting.id)
    )


def programme_version(now: datetime | None = None, *, every_published: bool = False) -> tuple:
    """Return what the programme page shows that can change, read in one SQL statement.

    Per meeting: its last update, seats, capacity, status and, when full, the length of its
    waiting list; per programme: its last update and the demonstration flag; and how many time
    boundaries (starts, ends, registration windows) are behind us, plus today's date in Paris.
    every_published: over every published cycle, as the registration form offers them.
    """
    now = now or utcnow()
    # Core execution on the session's connection: same transaction, none of the ORM's work.
    statement = _programme_version_statement(every_published)
    rows = db.session.connection().execute(statement).all()
    passed = 0
    version = []
    for row in rows:
        version.append((*row[:9], row[13]))
        passed += sum(1 for moment in row[9:13] if moment is not None and moment <= now)
    if every_published:
        current = db.session.connection().execute(select(current_programme_id())).scalar()
        return (now.astimezone(PARIS).date(), passed, current, tuple(version))
    return (now.astimezone(PARIS).date(), passed, tuple(version))


def offered_version(now: datetime | None = None) -> tuple:
    """Return the version of what the registration form offers (every published cycle)."""
    return programme_version(now, every_published=True)
