"""The rows of a staff list of registrations, kept between requests while nothing changed.

The staff list is rendered again and again with the same rows (a team member refreshing it,
htmx reloading it after each action), and its rows, with the four statements that find them,
are most of what it costs. What is kept, per meeting, filters and page, is only the table's
rows (their HTML) and the counts that go with them, and per meeting the values its head shows
(title, dates, seats, counts by state: irev.admin.registration_rows.MeetingHead); the page
around them, with the visitor's CSRF token, name and menu, is rendered for each request, and
nothing here is a finished page.

Why the rows may be kept at all: they hold nothing of the visitor. No CSRF token (their buttons
submit the page's one form, `form="lot"`, whose token is written per request), nothing that
depends on the staff member's role (every role sees the same rows and actions, and each action
checks itself when posted), no flash message. Whether the meeting has started is part of the
key (the cancel links depend on it).

How long: as the programme's cache (irev.services.cache.Freshness), until the next commit of
any worker of this gunicorn instance, so an action on the list shows at the next request
whichever worker answers it, or IREV_CACHE_SECONDS for a change made elsewhere (a command, the
mail worker). At most KEPT_PAGES lists per worker, least recently used out.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import current_app
from markupsafe import Markup

from irev.services.cache import freshness

#: Key of app.extensions.
KEPT_ROWS = "irev_kept_staff_rows"
#: Lists kept per worker (each some 30 kB for 50 rows).
KEPT_PAGES = 64

T = TypeVar("T")


@dataclass(frozen=True)
class RowsPage:
    """One page of a staff list, as the results template shows it."""

    total: int
    page: int
    pages: int
    #: The table body's rows, rendered (empty when nothing matches).
    rows_html: Markup


class KeptRows:
    """A small per-process map of key -> (freshness stamp, rows or meeting head)."""

    def __init__(self, size: int = KEPT_PAGES) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, tuple[tuple[int, float], Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_render(
        self,
        key: Hashable,
        render: Callable[[], T],
        holds: Callable[[T], bool] | None = None,
    ) -> T:
        """Return what is kept for key while fresh (and holds() says it still holds), else
        render it and keep it."""
        fresh = freshness()
        with self._lock:
            entry = self._entries.get(key)
            if (
                entry is not None
                and fresh.is_fresh(entry[0])
                and (holds is None or holds(entry[1]))
            ):
                self._entries.move_to_end(key)
                return entry[1]
        stamp = fresh.stamp()  # before reading: a commit meanwhile makes the entry stale
        value = render()
        with self._lock:
            self._entries[key] = (stamp, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget every list (tests; commits and time do the invalidation)."""
        with self._lock:
            self._entries.clear()


def kept_rows() -> KeptRows:
    """Return the kept rows of the current application (each app, each test, has its own)."""
    return current_app.extensions.setdefault(KEPT_ROWS, KeptRows())
