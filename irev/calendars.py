"""iCalendar files (RFC 5545) for meetings: one stable UID per meeting.

The video link is never in a public calendar: only the attachment of a message that gives the
link to a seated registrant carries it (irev.notifications decides who that is).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from icalendar import (
    Calendar,
    Event,
    Timezone,
    TimezoneDaylight,
    TimezoneStandard,
    vCalAddress,
    vText,
)

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


def web_calendar_links(meeting: Meeting) -> dict[str, str]:
    """Return "add to calendar" links for Outlook on the web and Google Calendar.

    Built from what the public .ics says (title, times in UTC, place, description with the
    page address), never from the video link: these addresses pass through another service.
    """
    from urllib.parse import urlencode

    title = _summary(meeting, cancelled=False)
    details = _description(meeting, cancelled=False, video=None)
    location = _location(meeting, video=None)
    start = meeting.starts_at.astimezone(dt.UTC)
    end = meeting.ends_at.astimezone(dt.UTC)
    google = urlencode(
        {
            "action": "TEMPLATE",
            "text": title,
            "dates": f"{start:%Y%m%dT%H%M%SZ}/{end:%Y%m%dT%H%M%SZ}",
            "details": details,
            "location": location,
            "ctz": "Europe/Paris",
        }
    )
    outlook = urlencode(
        {
            "path": "/calendar/action/compose",
            "rru": "addevent",
            "subject": title,
            "startdt": f"{start:%Y-%m-%dT%H:%M:%SZ}",
            "enddt": f"{end:%Y-%m-%dT%H:%M:%SZ}",
            "body": details,
            "location": location,
        }
    )
    return {
        "google": f"https://calendar.google.com/calendar/render?{google}",
        "outlook": f"https://outlook.office.com/calendar/0/deeplink/compose?{outlook}",
    }


def content_type(method: str = "PUBLISH") -> str:
    """Return the Content-Type header value for a calendar sent with this method."""
    return f"{MIMETYPE}; charset=utf-8; method={method}"


def calendar_etag(body: bytes) -> str:
    """Return a strong ETag for a calendar body: its content, DTSTAMP lines left out.

    DTSTAMP is the moment the file was made, new on every request: leaving it out, the
    same meetings give the same tag, and a client polling the feed gets 304 Not Modified.
    """
    content = b"\r\n".join(line for line in body.split(b"\r\n") if not line.startswith(b"DTSTAMP:"))
    return hashlib.sha256(content).hexdigest()[:32]


def meeting_calendar(
    meetings: Iterable[Meeting],
    *,
    method: str = "PUBLISH",
    name: str | None = None,
    sequence_offset: int = 0,
    video: dict[str, Any] | None = None,
    sequence_offsets: dict[int, int] | None = None,
) -> bytes:
    """Return a VCALENDAR with one VEVENT per meeting (CANCEL marks every event cancelled).

    sequence_offset is added to the meeting's SEQUENCE (a personal cancellation must outrank
    the PUBLISH its person received); video holds the connection details for a seated
    registrant's own copy (url, meeting_id, passcode), never given for a public feed.
    sequence_offsets gives a meeting's own offset (a summary holds one person's seats).
    """
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
        calendar.add_component(paris_timezone())
    stamp = utcnow().replace(microsecond=0)
    for meeting in meetings:
        offset = (sequence_offsets or {}).get(meeting.id, sequence_offset)
        sequence = (meeting.sequence or 0) + offset
        calendar.add_component(
            _event(meeting, stamp, cancelled=method == "CANCEL", video=video, sequence=sequence)
        )
    return calendar.to_ical()


def _event(
    meeting: Meeting,
    stamp: dt.datetime,
    *,
    cancelled: bool,
    video: dict[str, Any] | None,
    sequence: int,
) -> Event:
    """Build the VEVENT of one meeting."""
    cancelled = cancelled or meeting.is_cancelled
    video = None if cancelled else video
    event = Event()
    event.add("uid", meeting_uid(meeting))
    event.add("dtstamp", stamp)
    event.add("sequence", sequence)
    event.add("dtstart", meeting.starts_at.astimezone(PARIS))
    event.add("dtend", meeting.ends_at.astimezone(PARIS))
    event.add("summary", _summary(meeting, cancelled=cancelled))
    event.add("description", _description(meeting, cancelled=cancelled, video=video))
    event.add("location", _location(meeting, video=video))
    event.add("url", meeting_page_url(meeting), parameters={"VALUE": "URI"})
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    if meeting.created_at:
        event.add("created", meeting.created_at.replace(microsecond=0))
    if meeting.updated_at:
        event.add("last-modified", meeting.updated_at.replace(microsecond=0))
    event.add("organizer", _organizer())
    return event


def _summary(meeting: Meeting, *, cancelled: bool) -> str:
    """Return the title calendars show, saying plainly when the meeting is cancelled."""
    topic = meeting.title if meeting.topic_announced else "thème à venir"
    summary = f"Rencontre des élus – {topic}"
    return f"ANNULÉE – {summary}" if cancelled else summary


def _description(meeting: Meeting, *, cancelled: bool, video: dict[str, Any] | None) -> str:
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
    if video:
        parts.append(_video_text(video))
    elif meeting.mode is MeetingMode.VIDEO:
        parts.append("Le lien de visioconférence est envoyé par courriel aux personnes inscrites.")
    parts.append(f"Informations et inscription : {meeting_page_url(meeting)}")
    return "\n\n".join(parts)


def _video_text(video: dict[str, Any]) -> str:
    """Return the connection details as the seated registrant's e-mail gives them."""
    service = f" ({video['service']})" if video.get("service") else ""
    lines = [f"Pour rejoindre la séance en visioconférence{service} :", f"- lien : {video['url']}"]
    if video.get("meeting_id"):
        lines.append(f"- ID de réunion : {video['meeting_id']}")
    if video.get("passcode"):
        lines.append(f"- code secret : {video['passcode']}")
    if video.get("dial_in"):
        lines.append(f"- par téléphone : {video['dial_in']}")
    lines.append("Ce lien vous est destiné personnellement : merci de ne pas le diffuser.")
    return "\n".join(lines)


def _location(meeting: Meeting, *, video: dict[str, Any] | None) -> str:
    """Return the address, or the video link for its seated registrant, or say it is by video."""
    if meeting.mode is MeetingMode.ON_SITE and meeting.address:
        return meeting.address
    if video:
        return str(video["url"])
    return VIDEO_LOCATION


def _organizer() -> vCalAddress:
    """Return IREV as ORGANIZER: the From address of the site's e-mails, in every calendar.

    RFC 5546 asks for an ORGANIZER in PUBLISH and CANCEL, and mail clients act on a CANCEL only
    when it comes from the organizer (RFC 6047 section 3): the same address as From.
    """
    name, email = parseaddr(str(current_app.config["MAIL_DEFAULT_SENDER"]))
    organizer = vCalAddress(f"mailto:{email}")
    organizer.params["cn"] = vText(name or "IREV – Rencontres des élus")
    return organizer


def paris_timezone() -> Timezone:
    """Return the Europe/Paris VTIMEZONE in its yearly-rule form, as the tz database publishes it.

    One DAYLIGHT and one STANDARD with a yearly RRULE (last Sunday of March at 02:00, last
    Sunday of October at 03:00 local time): every client reads this form the same way. The
    dated form icalendar derives from tzdata packs several dates into one RDATE line, which
    ical.js (Thunderbird) and vobject read only the first of, and writes the March change at
    03:00 instead of 02:00. The EU rule holds since 1996; meetings are never older.
    """
    timezone = Timezone()
    timezone.add("tzid", TZID)
    timezone.add("x-lic-location", TZID)
    timezone.add_component(
        _observance(TimezoneDaylight(), "CEST", 1, 2, dt.datetime(1970, 3, 29, 2), month=3)
    )
    timezone.add_component(
        _observance(TimezoneStandard(), "CET", 2, 1, dt.datetime(1970, 10, 25, 3), month=10)
    )
    return timezone


def _observance(
    observance: TimezoneDaylight | TimezoneStandard,
    name: str,
    hours_from: int,
    hours_to: int,
    start: dt.datetime,
    *,
    month: int,
) -> TimezoneDaylight | TimezoneStandard:
    """Fill one observance: offsets, local start, and the yearly rule "last Sunday of month"."""
    observance.add("tzname", name)
    observance.add("tzoffsetfrom", dt.timedelta(hours=hours_from))
    observance.add("tzoffsetto", dt.timedelta(hours=hours_to))
    observance.add("dtstart", start)  # local time, no TZID (RFC 5545 3.6.5)
    observance.add("rrule", {"freq": "YEARLY", "bymonth": month, "byday": "-1SU"})
    return observance


def _host() -> str:
    """Return the host name of the public site, the right-hand side of every UID."""
    return urlsplit(current_app.config["IREV_BASE_URL"]).hostname or "irev.fr"
