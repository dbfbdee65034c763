"""Template helpers of the public pages (registered on the blueprint, usable everywhere)."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from flask import g

from irev import calendars, dates
from irev.public import bp
from irev.services import meetings as meeting_service


@bp.app_template_global()
def seat_status(meeting) -> meeting_service.SeatStatus:
    """Return the live seat status of a meeting (the seat block and meeting cards use it)."""
    counted = g.get("irev_waiting_counts") or {}
    return meeting_service.seat_status(meeting, waiting=counted.get(meeting.id))


def programme_calendar_body(programme, *, current: bool) -> bytes:
    """Return the .ics of a cycle's public meetings: /calendrier.ics (current=True) carries the
    site's name, /cycles/<slug>/calendrier.ics the cycle's title."""
    name = calendars.CALENDAR_NAME if current else programme.title
    return calendars.meeting_calendar(meeting_service.public_meetings(programme), name=name)


def size_text(body: bytes) -> str:
    """Return a download's size as a French reader expects it, rounded up: "3 ko"."""
    return f"{max(1, math.ceil(len(body) / 1024))} ko"


@bp.app_template_global()
def ics_size(meeting=None, programme=None, current: bool = True) -> str:
    """Return the size of the .ics a link offers: one meeting's, or a cycle's (RGAA 13.3)."""
    if meeting is not None:
        return size_text(calendars.meeting_calendar([meeting]))
    return size_text(programme_calendar_body(programme, current=current))


def preload_waiting(meetings: list) -> None:
    """Count the waiting lists of the meetings a page will show, in one statement (no N+1)."""
    g.irev_waiting_counts = meeting_service.waiting_counts(meetings)


@bp.app_template_global()
def event_date(event: dict[str, Any]) -> dt.date | None:
    """Return the day of a related event (stored as ISO text), or None when it has none."""
    value = event.get("date")
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


@bp.app_template_filter()
def day_long(day: dt.date) -> str:
    """Return "jeudi 9 mars 2023" for a calendar day (no time of day)."""
    return dates.long_date(dt.datetime.combine(day, dt.time(12), dates.PARIS))


@bp.app_template_filter()
def tel_uri(phone: str) -> str:
    """Return a tel: URI in international form ("06 07 75 84 23" gives "tel:+33607758423")."""
    digits = re.sub(r"[^\d+]", "", phone)
    if re.fullmatch(r"0\d{9}", digits):
        digits = "+33" + digits[1:]
    return f"tel:{digits}"


@bp.app_template_filter()
def speaker_text(speaker: dict[str, str]) -> str:
    """Return "Christophe Noyé (géographe, Cf. Géo)" for a speaker entry."""
    return meeting_service.speaker_text(speaker)


@bp.app_template_filter()
def day_text(day: dt.date) -> str:
    """Return "27 novembre 2026" for a calendar day."""
    return dates.short_date(dt.datetime.combine(day, dt.time(12), dates.PARIS))
