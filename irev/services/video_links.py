"""Derive from the current state which video-link, change and cancellation e-mails are due.

Nothing here listens to events: each pass looks at the meetings and registrations as they are
now, however they got that way (staff page, command, direct database update), and queues what
is missing. The outbox's unique keys keep every message single.

The moments the link goes out follow the cycle's schedule (irev.services.link_schedule).

Decisions:
- The link goes to every seated registrant of a published meeting once a moment has passed and
  until the meeting ENDS: someone seated during the meeting can still join it. After the end,
  nothing is sent.
- Several moments already past (a late seat, a meeting moved closer) give one message: the key
  names only the latest moment passed, plus a digest of what the message says (times, link, id,
  passcode). A new digest after a link was sent gives a corrected message ("informations mises
  à jour"), with the calendar's higher SEQUENCE.
- A change of time is announced to every active registrant (seated, pending approval, waiting)
  who was told the old time by an earlier message, once per new time; the link only goes to the
  seated, and only when it is due.
- A cancelled meeting that has not ended sends a cancellation (METHOD:CANCEL) to every active
  registrant, once.
- At sending, a message that is no longer true (seat lost, meeting cancelled, details changed
  since) is skipped, never sent: nobody who is not seated receives the link.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from irev.dates import PARIS, hour, short_date
from irev.extensions import db
from irev.models import (
    EmailStatus,
    Meeting,
    MeetingStatus,
    OutboundEmail,
    Registration,
    RegistrationState,
    utcnow,
)
from irev.notifications import may_receive_link
from irev.services.assistants import ASSISTANT_KEY, copy_obsolete_reason
from irev.services.link_schedule import Offset, configured_schedule, schedule_for, send_moments
from irev.services.outbox import (
    SCHEDULE_KEY,
    TIMES_KEY,
    enqueue,
    enqueue_many,
    schedule_version,
)

VIDEO_LINK = "video_link_to_registrant"
MEETING_CHANGED = "meeting_changed_to_registrant"
MEETING_CANCELLED = "meeting_cancelled_to_registrant"

#: Registrations told about changes and cancellations (a plain request holds nothing yet).
INFORMED_STATES = (
    RegistrationState.SEATED,
    RegistrationState.PENDING_APPROVAL,
    RegistrationState.WAITING,
)


def _moment_phrase(moment: datetime, starts_at: datetime) -> str:
    """Return "la veille à 10 h", "le jour même à 16 h" or "le 3 mars 2023 à 18 h"."""
    days = (starts_at.astimezone(PARIS).date() - moment.astimezone(PARIS).date()).days
    day = {0: "le jour même", 1: "la veille"}.get(days, f"le {short_date(moment)}")
    return f"{day} à {hour(moment)}"


def link_plan(meeting: Meeting, now: datetime | None = None) -> str:
    """Return, in French, when a person seated now will get the video link (the schedule's way).

    Read from the same schedule and the same rule as schedule_due(): a moment already passed
    sends the link at the next pass (a late seat gets it at once), each moment still to come
    sends it again. So a seat taken on the day of the meeting is never promised « la veille ».
    """
    now = now or utcnow()
    moments = send_moments(meeting, schedule_for(meeting.programme))
    coming = [_moment_phrase(moment, meeting.starts_at) for moment in moments if moment > now]
    soon = any(moment <= now for moment in moments) or not moments
    if soon and coming:
        return (
            "Le lien de connexion à la visioconférence vous est envoyé par courriel dans les "
            f"prochaines minutes, puis de nouveau {', puis '.join(coming)}."
        )
    if soon:
        return (
            "Le lien de connexion à la visioconférence vous est envoyé par courriel dans les "
            "prochaines minutes, dans un message séparé."
        )
    return (
        "Le lien de connexion à la visioconférence vous sera envoyé par courriel "
        f"{', puis '.join(coming)}."
    )


def link_version(
    meeting: Meeting, starts_at: datetime | None = None, ends_at: datetime | None = None
) -> str:
    """Return a short digest of what a link message says: times and connection details.

    starts_at and ends_at replace the meeting's times (to ask whether only the times changed).
    """
    raw = "|".join(
        [
            (starts_at or meeting.starts_at).isoformat(),
            (ends_at or meeting.ends_at).isoformat(),
            meeting.video_url or "",
            meeting.video_meeting_id or "",
            meeting.video_passcode or "",
            # Only when set: the digests of meetings without one stay as they were.
            *([meeting.video_dial_in] if meeting.video_dial_in else []),
        ]
    )
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


def link_due(meeting: Meeting, now: datetime | None = None) -> bool:
    """Return True from the first moment the link e-mail is due until the meeting ends.

    The self-service page shows the « Rejoindre la réunion » button over the same span as the
    e-mails give the link (the schedule's first moment), never earlier.
    """
    now = now or utcnow()
    if not meeting.is_published or not meeting.video_url or now >= meeting.ends_at:
        return False
    moments = send_moments(meeting, schedule_for(meeting.programme))
    return now >= (moments[0] if moments else meeting.starts_at)


@dataclass
class JoinDetails:
    """What a seated person needs to join a meeting on the day."""

    url: str
    meeting_id: str
    passcode: str
    dial_in: str
    #: Zoom's page to try camera and sound beforehand, when the link is Zoom's.
    test_url: str


def join_details(registration: Registration, now: datetime | None = None) -> JoinDetails | None:
    """Return the connection details for a seated registration once the link is due, else None.

    The same rule as the e-mails (irev.notifications.may_receive_link): only a seat of a
    published meeting with a link, and only from the moment the link e-mail is due.
    """
    from urllib.parse import urlsplit

    meeting = registration.meeting
    if not may_receive_link(registration, meeting) or not link_due(meeting, now):
        return None
    host = (urlsplit(meeting.video_url).hostname or "").lower()
    is_zoom = host == "zoom.us" or host.endswith(".zoom.us")
    return JoinDetails(
        url=meeting.video_url,
        meeting_id=meeting.video_meeting_id or "",
        passcode=meeting.video_passcode or "",
        dial_in=meeting.video_dial_in or "",
        test_url="https://zoom.us/test" if is_zoom else "",
    )


#: Kinds of change a change e-mail announces, each with its own subject; "details" when the
#: earlier message did not record its times (rows queued before they were recorded).
CHANGE_KINDS = ("time", "link", "time_link", "details")


def describe_change(meeting: Meeting, told: OutboundEmail) -> dict[str, object]:
    """Return what changed since an earlier message, for a change e-mail's context.

    The earlier message recorded the times it announced (TIMES_KEY); its link version tells
    whether the connection details changed too: recomputed with the old times and the current
    details, it matches only if the details are the same.
    """
    context = told.context or {}
    times = context.get(TIMES_KEY)
    if not times:
        return {"change": "details"}
    old_start, old_end = (datetime.fromisoformat(value) for value in times)
    time_changed = (old_start, old_end) != (meeting.starts_at, meeting.ends_at)
    old_link = context.get("link_version")
    link_changed = old_link is not None and old_link != link_version(meeting, old_start, old_end)
    if time_changed and link_changed:
        kind = "time_link"
    elif time_changed:
        kind = "time"
    elif link_changed:
        kind = "link"
    else:
        kind = "details"
    change: dict[str, object] = {"change": kind}
    if time_changed:
        change["old_times"] = list(times)
    return change


@dataclass
class ScheduleReport:
    """What one scheduling pass queued."""

    links: int = 0
    changes: int = 0
    cancellations: int = 0

    @property
    def total(self) -> int:
        return self.links + self.changes + self.cancellations


def schedule_due(now: datetime | None = None) -> ScheduleReport:
    """Queue every link, change and cancellation message due now; the caller commits."""
    now = now or utcnow()
    configured_schedule()  # an unreadable setting stops the pass, loudly (see mail_cli)
    schedules: dict[int, list[Offset]] = {}
    report = ScheduleReport()
    meetings = db.session.scalars(
        select(Meeting)
        .where(
            Meeting.ends_at > now,
            Meeting.status.in_([MeetingStatus.PUBLISHED, MeetingStatus.CANCELLED]),
        )
        .order_by(Meeting.starts_at)
    )
    for meeting in meetings:
        registrations = _informed_registrations(meeting)
        if not registrations:
            continue
        if meeting.is_cancelled:
            report.cancellations += _queue_cancellations(meeting, registrations)
            continue
        history = _history(registrations)
        if meeting.programme_id not in schedules:
            schedules[meeting.programme_id] = schedule_for(meeting.programme)
        offsets = schedules[meeting.programme_id]
        told_now = _queue_links(meeting, registrations, history, offsets, now, report)
        report.changes += _queue_time_changes(meeting, registrations, history, told_now)
    return report


def _informed_registrations(meeting: Meeting) -> list[Registration]:
    """Return the meeting's seated, pending and waiting registrations, with their people."""
    return list(
        db.session.scalars(
            select(Registration)
            .where(Registration.meeting_id == meeting.id, Registration.state.in_(INFORMED_STATES))
            .options(selectinload(Registration.person))
            .order_by(Registration.id)
        )
    )


def _history(registrations: list[Registration]) -> dict[int, list[OutboundEmail]]:
    """Return every message of each registration, oldest first."""
    history: dict[int, list[OutboundEmail]] = {r.id: [] for r in registrations}
    rows = db.session.scalars(
        select(OutboundEmail)
        .where(OutboundEmail.registration_id.in_(list(history)))
        .order_by(OutboundEmail.id)
    )
    for row in rows:
        if ASSISTANT_KEY in (row.context or {}):
            continue  # an assistant's copy follows its original; it decides nothing
        history[row.registration_id].append(row)  # type: ignore[index]
    return history


#: A row in these states stands for its message: sent, on its way, or given up (staff see it).
COVERING = (EmailStatus.PENDING, EmailStatus.SENT, EmailStatus.FAILED)


def _queue_links(
    meeting: Meeting,
    registrations: list[Registration],
    history: dict[int, list[OutboundEmail]],
    offsets: list[Offset],
    now: datetime,
    report: ScheduleReport,
) -> set[int]:
    """Queue the link (or its correction) for seated registrants; return who is covered.

    A message is due when the latest link message of the registration is missing, says other
    details, or belongs to an earlier moment. Its key counts the link messages so far, so two
    passes that see the same state queue the same key (one message), and a later change,
    even back to earlier details, gets a key of its own.
    """
    covered: set[int] = set()
    if not meeting.video_url:
        return covered
    moments = send_moments(meeting, offsets)
    passed = [index for index, moment in enumerate(moments) if moment <= now]
    version = link_version(meeting)
    due: list[dict] = []
    for registration in registrations:
        if not may_receive_link(registration, meeting):
            continue
        links = [row for row in history[registration.id] if "link_version" in (row.context or {})]
        sent = [row for row in links if row.status is EmailStatus.SENT]
        changed = bool(sent) and sent[-1].context["link_version"] != version
        if passed:
            slot = passed[-1]
        elif changed:
            slot = -1  # link sent, then the meeting moved later: correct it now
        else:
            continue
        covered.add(registration.id)
        latest = next((row for row in reversed(links) if row.status in COVERING), None)
        if (
            latest is not None
            and latest.context["link_version"] == version
            and latest.context.get("slot", -1) >= slot
        ):
            continue
        due.append(
            {
                "kind": MEETING_CHANGED if changed else VIDEO_LINK,
                "to_address": registration.person.email,
                "dedupe_key": (
                    f"registration:{registration.id}:video_link:{slot}:{version}:{len(links)}"
                ),
                "registration": registration,
                "context": {
                    "link_version": version,
                    "slot": slot,
                    "with_link": True,
                    **(describe_change(meeting, sent[-1]) if changed else {}),
                },
            }
        )
    queued = enqueue_many(due)
    report.links += queued.count(VIDEO_LINK)
    report.changes += queued.count(MEETING_CHANGED)
    return covered


def _queue_time_changes(
    meeting: Meeting,
    registrations: list[Registration],
    history: dict[int, list[OutboundEmail]],
    covered: set[int],
) -> int:
    """Tell active registrants told an older time about the new one (once per change)."""
    current = schedule_version(meeting)
    count = 0
    for registration in registrations:
        if registration.id in covered:
            continue
        stamped = [
            row
            for row in history[registration.id]
            if SCHEDULE_KEY in (row.context or {})
            and row.status in (EmailStatus.PENDING, EmailStatus.SENT)
            and not row.kind.endswith("_to_staff")
        ]
        if not stamped or stamped[-1].context[SCHEDULE_KEY] == current:
            continue
        changes = sum(row.kind == MEETING_CHANGED for row in history[registration.id])
        count += enqueue(
            MEETING_CHANGED,
            registration.person.email,
            dedupe_key=f"registration:{registration.id}:{MEETING_CHANGED}:{current}:{changes}",
            registration=registration,
            context={
                "schedule_version": current,
                "with_link": False,
                **describe_change(meeting, stamped[-1]),
            },
        )
    return count


def _queue_cancellations(meeting: Meeting, registrations: list[Registration]) -> int:
    """Tell every active registrant of a cancelled meeting, once."""
    count = 0
    for registration in registrations:
        count += enqueue(
            MEETING_CANCELLED,
            registration.person.email,
            dedupe_key=f"registration:{registration.id}:{MEETING_CANCELLED}",
            registration=registration,
        )
    return count


def obsolete_reason(email: OutboundEmail) -> str:
    """Return why a queued message is no longer true and must not be sent, or ""."""
    gone = copy_obsolete_reason(email)
    if gone:
        return gone
    if email.kind not in (VIDEO_LINK, MEETING_CHANGED, MEETING_CANCELLED):
        return ""
    registration = (
        db.session.get(Registration, email.registration_id) if email.registration_id else None
    )
    meeting = db.session.get(Meeting, email.meeting_id) if email.meeting_id else None
    if registration is None or meeting is None:
        return "Non envoyé : l’inscription ou la séance n’existe plus."
    if utcnow() >= meeting.ends_at:
        return "Non envoyé : la séance est terminée."
    context = email.context or {}
    if email.kind == MEETING_CANCELLED:
        return "" if meeting.is_cancelled else "Non envoyé : la séance n’est plus annulée."
    if "link_version" in context:
        if not may_receive_link(registration, meeting):
            return "Non envoyé : la personne n’a plus de place confirmée pour cette séance."
        if context["link_version"] != link_version(meeting):
            return "Non envoyé : les informations ont changé depuis ; un message à jour suit."
        return ""
    if registration.state not in INFORMED_STATES or not meeting.is_published:
        return "Non envoyé : l’inscription ou la séance n’est plus active."
    if context.get("schedule_version") not in (None, schedule_version(meeting)):
        return "Non envoyé : l’horaire a encore changé ; un message à jour suit."
    return ""
