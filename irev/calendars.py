"""iCalendar files (RFC 5545) for meetings: one stable UID per meeting, never the video link."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import urlsplit

from flask import current_app
from icalendar import Calendar, Event, Timezone, vCalAddress, vText

from irev.dates import PARIS
from irev.models import Meeting, MeetingMode, utcnow
from irev.services.meetings import speaker_text
from irev.urls import external_url

PRODID = "-//IREV//Rencontres des élus//FR"
TZID = "Europe/Paris"
#: Where a video meeting "is": the link itself only goes to seated registrants, by e-mail.
VIDEO_LOCATION = "En visioconférence (le lien est envoyé aux inscrits)"
#: What calendar clients show as the name of a subscribed calendar.
CALENDAR_NAME = "Rencontres des élus – IREV"
#: MIME type of the files, with the iTIP method repeated as RFC 6047 asks.
MIMETYPE = "text/calendar"
METHODS = ("PUBLISH", "CANCEL")


def meeting_uid(meeting: Meeting) -> str:
    """Return the meeting's UID: the same in every file and e-mail, whatever changes."""
    return f"meeting-{meeting.id}@{_host()}"


def meeting_page_url(meeting: Meeting) -> str:
    """Return the absolute address of the meeting's public page (works outside a request)."""
    return external_url("public.meeting", slug=meeting.slug)


def content_type(method: str = "PUBLISH") -> str:
    """Return the Content-Type header value for a calendar sent with this method."""
    return f"{MIMETYPE}; charset=utf-8; method={method}"


def meeting_calendar(
    meetings: Iterable[Meeting], *, method: str = "PUBLISH", name: str | None = None
) -> bytes:
    """Return a VCALENDAR with one VEVENT per meeting (CANCEL marks every event cancelled)."""
    if method not in METHODS:
        raise ValueError(f"unsupported iTIP method: {method}")
    meetings = list(meetings)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    if name:
        calendar.add("name", name)
        calendar.add("x-wr-calname", name)
        calendar.add("x-wr-timezone", TZID)
        # A subscribed feed: clients fetch it again twice a day (RFC 7986 and its older form).
        calendar.add("refresh-interval", dt.timedelta(hours=12), parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", "PT12H")
    if meetings:
        first = min(m.starts_at for m in meetings).astimezone(PARIS).year
        last = max(m.ends_at for m in meetings).astimezone(PARIS).year
        calendar.add_component(_paris_timezone(first, last))
    stamp = utcnow().replace(microsecond=0)
    for meeting in meetings:
        calendar.add_component(_event(meeting, stamp, cancelled=method == "CANCEL"))
    return calendar.to_ical()


def _event(meeting: Meeting, stamp: dt.datetime, *, cancelled: bool) -> Event:
    """Build the VEVENT of one meeting."""
    cancelled = cancelled or meeting.is_cancelled
    event = Event()
    event.add("uid", meeting_uid(meeting))
    event.add("dtstamp", stamp)
    event.add("sequence", meeting.sequence or 0)
    event.add("dtstart", meeting.starts_at.astimezone(PARIS))
    event.add("dtend", meeting.ends_at.astimezone(PARIS))
    event.add("summary", _summary(meeting, cancelled=cancelled))
    event.add("description", _description(meeting, cancelled=cancelled))
    event.add("location", _location(meeting))
    event.add("url", meeting_page_url(meeting), parameters={"VALUE": "URI"})
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    if meeting.created_at:
        event.add("created", meeting.created_at.replace(microsecond=0))
    if meeting.updated_at:
        event.add("last-modified", meeting.updated_at.replace(microsecond=0))
    event.add("organizer", _organizer(meeting))
    return event


def _summary(meeting: Meeting, *, cancelled: bool) -> str:
    """Return the title calendars show, saying plainly when the meeting is cancelled."""
    topic = meeting.title if meeting.topic_announced else "thème à venir"
    summary = f"Rencontre des élus – {topic}"
    return f"ANNULÉE – {summary}" if cancelled else summary


def _description(meeting: Meeting, *, cancelled: bool) -> str:
    """Return the plain-text description: topic, speakers, partners, page address."""
    parts: list[str] = []
    if cancelled:
        parts.append("Cette séance est annulée.")
    parts.append(meeting.programme.title)
    if meeting.description:
        parts.append(meeting.description.strip())
    elif not meeting.topic_announced:
        parts.append("Le thème de cette séance sera annoncé prochainement.")
    if meeting.speakers:
        parts.append("Avec " + ", ".join(speaker_text(s) for s in meeting.speakers) + ".")
    if meeting.partners:
        parts.append("Partenariat : " + ", ".join(meeting.partners) + ".")
    if meeting.mode is MeetingMode.VIDEO:
        parts.append("Le lien de visioconférence est envoyé par courriel aux personnes inscrites.")
    parts.append(f"Informations et inscription : {meeting_page_url(meeting)}")
    return "\n\n".join(parts)


def _location(meeting: Meeting) -> str:
    """Return the address, or say it happens by video (never the link itself)."""
    if meeting.mode is MeetingMode.ON_SITE and meeting.address:
        return meeting.address
    return VIDEO_LOCATION


def _organizer(meeting: Meeting) -> vCalAddress:
    """Return IREV as ORGANIZER (RFC 5546 asks for one in PUBLISH and CANCEL)."""
    programme = meeting.programme
    email = programme.contact_email or current_app.config.get("MAIL_REPLY_TO") or ""
    organizer = vCalAddress(f"mailto:{email}")
    organizer.params["cn"] = vText("IREV – Rencontres des élus")
    return organizer


@lru_cache(maxsize=16)
def _paris_timezone(first_year: int, last_year: int) -> Timezone:
    """Return the Europe/Paris VTIMEZONE covering the given years (built from tzdata, cached)."""
    return Timezone.from_tzid(
        TZID, first_date=dt.date(first_year - 1, 1, 1), last_date=dt.date(last_year + 1, 12, 31)
    )


def _host() -> str:
    """Return the host name of the public site, the right-hand side of every UID."""
    return urlsplit(current_app.config["IREV_BASE_URL"]).hostname or "irev.fr"
