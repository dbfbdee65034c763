"""The calendar a message carries: which one (PUBLISH, CANCEL or none) and its attachment.

Only a seat puts a meeting in someone's agenda, so only a seat decides; each person's calendar
has its own SEQUENCE, so that their client only ever sees it rise (calendar_method(),
sequence_offset()). irev.notifications renders the messages and attaches what this returns.
"""

from __future__ import annotations

from irev.extensions import db
from irev.models import Meeting, OutboundEmail, Registration

#: An attachment: file name, MIME type and subtype, Content-Type parameters, bytes.
Attachment = tuple[str, str, str, dict[str, str], bytes]

#: Kinds that announce a seat: their calendar (METHOD:PUBLISH) goes with what they say.
SEAT_KINDS = frozenset({"seated_to_registrant", "promoted_to_registrant", "approved_to_registrant"})
#: Kinds that carry the meeting as a calendar (METHOD:PUBLISH) when their person has a seat.
ICS_PUBLISH_KINDS = frozenset(
    {*SEAT_KINDS, "video_link_to_registrant", "meeting_changed_to_registrant"}
)
#: Kinds telling someone their seat ended: a METHOD:CANCEL when they had one (context "was").
SEAT_ENDED_KINDS = frozenset({"cancelled_to_registrant", "cancelled_by_organiser_to_registrant"})
#: Kinds that carry a METHOD:CANCEL calendar (to those whose agenda holds the meeting).
ICS_CANCEL_KINDS = frozenset({"meeting_cancelled_to_registrant", *SEAT_ENDED_KINDS})


def calendar_method(
    email: OutboundEmail, registration: Registration | None, meeting: Meeting | None
) -> str | None:
    """Return which calendar a message carries: "PUBLISH", "CANCEL" or None.

    Only a seat puts a meeting in someone's agenda, so only a seat decides: a seated person
    gets PUBLISH (with the link when the message gives it), someone waiting or awaiting
    approval gets no calendar at all, and whoever had a seat gets CANCEL when it ends (their
    own cancellation, staff's, an erasure) or when the meeting is cancelled.

    Each calendar goes with what its message says: a message announcing a seat carries the
    seat's PUBLISH even if the seat ended before the worker sent it (the CANCEL follows, in
    order), a message ending a seat carries the CANCEL the seat it recorded ("was") calls for,
    and the messages about the meeting (link, change, cancellation) follow the seat as it is.
    """
    from irev.models import RegistrationState

    if meeting is None or registration is None or registration.meeting_id != meeting.id:
        return None
    seated = registration.state is RegistrationState.SEATED
    if email.kind in SEAT_KINDS:
        return "PUBLISH" if meeting.is_published else None
    if email.kind in ICS_PUBLISH_KINDS:
        return "PUBLISH" if seated and meeting.is_published else None
    if email.kind in SEAT_ENDED_KINDS:
        had_seat = (email.context or {}).get("was") == RegistrationState.SEATED.value
        return "CANCEL" if had_seat else None
    if email.kind in ICS_CANCEL_KINDS:
        return "CANCEL" if seated else None
    return None


#: Key of a batch's render cache: earlier registrations per registration id (earlier_counts).
EARLIER = "earlier_registrations"


def earlier_counts(registration_ids: set[int]) -> dict[int, int]:
    """Return, per registration, the person's earlier registrations for its meeting (one query).

    A batch asks once for all its rows instead of once a message. The count of a registration
    never changes: later registrations have higher ids.
    """
    from sqlalchemy import and_, func, select
    from sqlalchemy.orm import aliased

    if not registration_ids:
        return {}
    earlier = aliased(Registration)
    rows = db.session.execute(
        select(Registration.id, func.count(earlier.id))
        .outerjoin(
            earlier,
            and_(
                earlier.person_id == Registration.person_id,
                earlier.meeting_id == Registration.meeting_id,
                earlier.id < Registration.id,
            ),
        )
        .where(Registration.id.in_(registration_ids))
        .group_by(Registration.id)
    )
    return dict(rows.all())


def sequence_offset(
    registration: Registration, method: str, kind: str, cache: dict | None = None
) -> int:
    """Return what a person's calendar adds to the meeting's SEQUENCE, so theirs only rises.

    Each earlier registration of the person for the meeting (ended, since only one is active)
    counts two: its PUBLISH and its CANCEL. The CANCEL that ends a seat adds one more, so it
    outranks the PUBLISH before it, and a seat taken again later outranks that CANCEL (a client
    ignores an update whose SEQUENCE is not higher). A cancelled meeting has raised its own.
    """
    from sqlalchemy import func, select

    known = (cache or {}).get(EARLIER) or {}
    earlier = known.get(registration.id)
    if earlier is None:
        earlier = db.session.scalar(
            select(func.count(Registration.id)).where(
                Registration.person_id == registration.person_id,
                Registration.meeting_id == registration.meeting_id,
                Registration.id < registration.id,
            )
        )
    return 2 * (earlier or 0) + (1 if method == "CANCEL" and kind in SEAT_ENDED_KINDS else 0)


#: A summary of several registrations placed at once (irev.services.registration_events).
SUMMARY_KIND = "summary_to_registrant"


def summary_seats(email: OutboundEmail) -> list[Registration]:
    """Return the registrations a summary announces as seats, on meetings still published.

    Like every message announcing a seat, its calendar goes with what it says (the CANCEL
    of a seat ended since follows in its own message).
    """
    ids = [
        line["registration_id"]
        for line in (email.context or {}).get("lines", [])
        if line.get("outcome") == "seated" and line.get("registration_id")
    ]
    found = [db.session.get(Registration, registration_id) for registration_id in ids]
    return [
        r
        for r in found
        if r is not None and r.person_id == email.person_id and r.meeting.is_published
    ]


def seats_calendar(registrations: list[Registration]) -> Attachment:
    """Return one PUBLISH calendar holding every seat of a summary, each at its own SEQUENCE."""
    from irev.calendars import meeting_calendar

    offsets = {r.meeting_id: sequence_offset(r, "PUBLISH", SUMMARY_KIND) for r in registrations}
    data = meeting_calendar(
        [r.meeting for r in registrations], method="PUBLISH", sequence_offsets=offsets
    )
    return "seances.ics", "text", "calendar", {"method": "PUBLISH", "charset": "utf-8"}, data


def meeting_attachment(
    email: OutboundEmail,
    registration: Registration,
    meeting: Meeting,
    method: str,
    cache: dict | None,
    video: dict | None,
) -> Attachment:
    """Return the .ics attachment: the UID of /seances/<slug>.ics, the person's own SEQUENCE.

    A PUBLISH that goes with the video link carries it too (LOCATION and DESCRIPTION, from
    video: the message's video_details()): the seated person finds it in their agenda. The
    public files never hold it.
    """
    from irev.calendars import meeting_calendar

    video = video if method == "PUBLISH" else None
    offset = sequence_offset(registration, method, email.kind, cache)
    key = (meeting.id, meeting.sequence, method, offset, tuple(sorted((video or {}).items())))
    data = cache.get(key) if cache is not None else None
    if data is None:
        data = meeting_calendar([meeting], method=method, sequence_offset=offset, video=video)
        if cache is not None:
            cache[key] = data
    filename = f"{meeting.slug}.ics" if method == "PUBLISH" else f"{meeting.slug}-annulation.ics"
    return filename, "text", "calendar", {"method": method, "charset": "utf-8"}, data
