"""Dates and times shown to people: Europe/Paris, in French, formatted by Babel.

Babel takes tens of microseconds per date, and the same few dates (a meeting's start and end)
are written into every page and every e-mail of a batch: the formatters are pure functions of
an aware datetime, so their answers are kept (lru_cache).
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time

PARIS = ZoneInfo("Europe/Paris")
LOCALE = "fr_FR"


def to_paris(moment: datetime) -> datetime:
    """Return an aware datetime converted to Europe/Paris."""
    return moment.astimezone(PARIS)


@lru_cache(maxsize=4096)
def long_date(moment: datetime) -> str:
    """Return "mercredi 1er mars 2023" (French writes the first day of a month as an ordinal)."""
    local = to_paris(moment)
    pattern = "EEEE d'er' MMMM y" if local.day == 1 else "EEEE d MMMM y"
    return format_date(local, pattern, locale=LOCALE)


@lru_cache(maxsize=4096)
def short_date(moment: datetime) -> str:
    """Return "1er mars 2023"."""
    local = to_paris(moment)
    pattern = "d'er' MMMM y" if local.day == 1 else "d MMMM y"
    return format_date(local, pattern, locale=LOCALE)


@lru_cache(maxsize=4096)
def hour(moment: datetime) -> str:
    """Return "17 h" or "17 h 30", the French way of writing a time of day."""
    local = to_paris(moment)
    pattern = "H 'h'" if local.minute == 0 else "H 'h' mm"
    return format_time(local, pattern, locale=LOCALE)


@lru_cache(maxsize=4096)
def meeting_when(starts_at: datetime, ends_at: datetime) -> str:
    """Return "mercredi 1er mars 2023, de 17 h à 19 h".

    A meeting that ends on another Paris day (after midnight) names both days: « du mercredi
    3 juin 2026 à 22 h au jeudi 4 juin à 0 h 30 » (the year again only when it changes).
    """
    start, end = to_paris(starts_at), to_paris(ends_at)
    if start.date() == end.date():
        return f"{long_date(starts_at)}, de {hour(starts_at)} à {hour(ends_at)}"
    end_day = long_date(ends_at)
    if start.year == end.year:
        end_day = end_day.rsplit(" ", 1)[0]
    return f"du {long_date(starts_at)} à {hour(starts_at)} au {end_day} à {hour(ends_at)}"


def date_time(moment: datetime) -> str:
    """Return "1er mars 2023 à 17 h 05", for logs and lists."""
    return f"{short_date(moment)} à {hour(moment)}"


def iso_local(moment: datetime) -> str:
    """Return the Europe/Paris ISO 8601 form, for <time datetime="...">."""
    return to_paris(moment).isoformat(timespec="minutes")
