"""Render an outbox row into an e-mail: templates, headers, calendar attachment, links.

The plain-text part comes first and the HTML second (multipart/alternative); a calendar wraps
them in multipart/mixed. Messages are written straight to wire bytes by irev.mime: the standard
library's MIME classes and generator cost about a millisecond a message, more than the whole
SMTP exchange with a local server (see bench/bench_mail.py). Header safety is ours, and strict:
every header value goes through `header_value()`, which refuses any CR or LF, and user text is
collapsed to one line or encoded, so user text can never add a header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import charset as email_charset
from email import message_from_string, policy
from email.utils import format_datetime, make_msgid, parseaddr
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from flask import current_app

from irev import mime
from irev.dates import PARIS
from irev.extensions import db
from irev.models import Meeting, OutboundEmail, Person, Programme, Registration, utcnow
from irev.salutations import salutation_for
from irev.services.assistants import (
    assistant_of_phrase,
    assistant_url,
    assistants_of,
    copy_recipient,
    is_copy,
    official_title,
)
from irev.services.outbox import ERASED_KEY
from irev.tokens import make_token
from irev.typography import french
from irev.urls import base_url, external_url

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

#: UTF-8 bodies in quoted-printable: readable in the raw message, 7-bit safe on any server.
#: (A charset object of our own: Flask-Mail changes the global "utf-8" one to 8-bit bodies.)
QP_UTF8 = email_charset.Charset("utf-8")
QP_UTF8.header_encoding = email_charset.BASE64  # "B" words: folding them costs a tenth of "Q"
QP_UTF8.body_encoding = email_charset.QP


class RenderError(RuntimeError):
    """An outbox row cannot be turned into an e-mail (missing template, missing row ...)."""


@dataclass
class Rendered:
    """The three texts of a message and its attachments, before headers."""

    subject: str
    text: str
    html: str
    #: (filename, maintype, subtype, params, data)
    attachments: list[tuple[str, str, str, dict[str, str], bytes]] = field(default_factory=list)


def collapse(value: str) -> str:
    """Return value on one line with runs of whitespace (CR/LF included) made single spaces."""
    return " ".join(str(value).split())


def manage_url(person: Person) -> str:
    """Return the self-service link of a person (signed; void once link_version is raised)."""
    token = make_token("manage", {"p": person.id, "v": person.link_version})
    return external_url("registration.manage", token=token)


def cancel_url(registration: Registration) -> str:
    """Return the link that opens the page cancelling one registration (a button, then POST).

    It carries the person's link_version, like the self-service link: revoking a person's
    links (raising the version) voids it too.
    """
    person = registration.person
    token = make_token("cancel", {"r": registration.id, "v": person.link_version})
    return external_url("registration.cancel_link", token=token)


def reconfirm_url(registration: Registration) -> str:
    """Return the link of a reconfirmation e-mail: a page with two buttons, acting on POST.

    Signed for its own purpose with the person's link_version (raising it voids the link).
    """
    token = make_token("reconfirm", {"r": registration.id, "v": registration.person.link_version})
    return external_url("registration.reconfirm", token=token)


#: The question « je confirme / je libère ma place » (irev.services.reconfirmation).
RECONFIRM_KIND = "reconfirm_to_registrant"


#: Staff-account e-mails: the endpoint their link opens (see irev.services.staff).
STAFF_LINK_ENDPOINTS = {
    "invitation_to_staff": ("staff_invite", "admin.accept_invitation"),
    "password_reset_to_staff": ("staff_reset", "admin.reset_password"),
}


def staff_link_url(email: OutboundEmail) -> str:
    """Return the link of a staff-account e-mail, signed now for the account and link version.

    The outbox row keeps only the account id and version (no live secret in the database
    before sending); a link whose version was raised since does nothing when opened.
    """
    from irev.services.staff import link_token

    purpose, endpoint = STAFF_LINK_ENDPOINTS[email.kind]
    context = email.context or {}
    token = link_token(purpose, int(context["staff_id"]), int(context["link_version"]))
    return external_url(endpoint, token=token)


#: The follow-up after a meeting (irev.services.followup): resources, replay, attestation.
FOLLOWUP_KINDS = frozenset({"followup_attended_to_registrant", "followup_absent_to_registrant"})

#: Kinds that may carry the connection details of the meeting.
LINK_KINDS = frozenset({"video_link_to_registrant", "meeting_changed_to_registrant"})


def may_receive_link(registration: Registration | None, meeting: Meeting | None) -> bool:
    """Return True only for a seated registration of a published meeting with a video link."""
    from irev.models import MeetingStatus, RegistrationState

    return (
        registration is not None
        and meeting is not None
        and registration.meeting_id == meeting.id
        and registration.state is RegistrationState.SEATED
        and meeting.status is MeetingStatus.PUBLISHED
        and bool(meeting.video_url)
    )


#: Video-conference services recognised from the host of a link, by the end of its name.
VIDEO_SERVICES = (
    ("zoom.us", "Zoom"),
    ("zoom.com", "Zoom"),
    ("teams.microsoft.com", "Microsoft Teams"),
    ("teams.live.com", "Microsoft Teams"),
    ("meet.google.com", "Google Meet"),
    ("webex.com", "Webex"),
    ("whereby.com", "Whereby"),
    ("meet.jit.si", "Jitsi Meet"),
    ("visio.numerique.gouv.fr", "Visio"),
)


def video_service(url: str | None) -> str:
    """Return the name of the video-conference service a link leads to, or "" if unknown."""
    host = (urlsplit(url or "").hostname or "").lower().rstrip(".")
    for suffix, name in VIDEO_SERVICES:
        if host == suffix or host.endswith(f".{suffix}"):
            return name
    return ""


def video_details(
    email: OutboundEmail, registration: Registration | None, meeting: Meeting | None
) -> dict[str, str] | None:
    """Return the connection details for a link message to a seated registrant, else None.

    This is the one place the link enters a message: nobody who is not seated can get it,
    whatever a template or a caller asks.
    """
    if email.kind not in LINK_KINDS or not may_receive_link(registration, meeting):
        return None
    if email.kind != "video_link_to_registrant" and not (email.context or {}).get("with_link"):
        return None
    assert meeting is not None
    return {
        "service": video_service(meeting.video_url),
        "url": meeting.video_url,
        "meeting_id": meeting.video_meeting_id,
        "passcode": meeting.video_passcode,
        "dial_in": meeting.video_dial_in,
    }


def change_lines(meeting: Meeting | None, context: dict[str, Any]) -> list[str]:
    """Return the French sentences saying what changed, old and new, for a change e-mail."""
    from datetime import datetime

    from irev.dates import hour, long_date, meeting_when, to_paris

    kind = context.get("change")
    if meeting is None or not kind:
        return []
    lines = []
    times = context.get("old_times")
    if kind in ("time", "time_link") and times:
        old_start, old_end = (datetime.fromisoformat(value) for value in times)
        start, end = meeting.starts_at, meeting.ends_at
        old_when, new_when = meeting_when(old_start, old_end), meeting_when(start, end)
        if old_when.startswith("du ") or new_when.startswith("du "):
            # A meeting across midnight names two days: « déplacée du du … » would not read.
            lines.append(f"La séance a désormais lieu {new_when}, au lieu de {old_when}.")
        elif to_paris(old_start).date() != to_paris(start).date():
            lines.append(
                f"La séance est déplacée du {meeting_when(old_start, old_end)} "
                f"au {meeting_when(start, end)}."
            )
        elif hour(old_start) != hour(start):
            line = (
                f"Le {long_date(start)}, la séance est déplacée "
                f"de {hour(old_start)} à {hour(start)}"
            )
            if hour(old_end) != hour(end):
                line += f" ; elle se termine à {hour(end)} au lieu de {hour(old_end)}"
            lines.append(line + ".")
        else:
            lines.append(
                f"Le {long_date(start)}, la séance se termine à {hour(end)} "
                f"au lieu de {hour(old_end)}."
            )
    if kind in ("link", "time_link"):
        lines.append(
            "Le lien de connexion a changé : utilisez celui de ce message, l’ancien ne sert plus."
        )
    return lines


def _addressed_to_person(email: OutboundEmail, person: Person | None) -> bool:
    """Return True when the message goes to the person it is about (not to staff)."""
    # A self-service link goes only to the person's current address (never to an old one).
    return (
        person is not None
        and not email.kind.endswith("_to_staff")
        and email.to_address.strip().lower() == (person.email or "").strip().lower()
    )


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


def template_context(email: OutboundEmail) -> dict[str, Any]:
    """Return what the templates of a message see (the e-mail contract)."""
    person = db.session.get(Person, email.person_id) if email.person_id else None
    registration = (
        db.session.get(Registration, email.registration_id) if email.registration_id else None
    )
    meeting = db.session.get(Meeting, email.meeting_id) if email.meeting_id else None
    if meeting is None and registration is not None:
        meeting = registration.meeting
    programme: Programme | None = meeting.programme if meeting is not None else None
    to_person = _addressed_to_person(email, person)
    # A farewell to an erased person: their links are dead and their name is gone.
    erased = bool((email.context or {}).get(ERASED_KEY))
    # An assistant's copy: the official's message, introduced to the assistant (see layouts).
    assistant = copy_recipient(email) if is_copy(email) and person is not None else None
    to_person = to_person or assistant is not None
    context: dict[str, Any] = {
        "email": email,
        "person": person,
        "registration": registration,
        "meeting": meeting,
        "programme": programme,
        "base_url": base_url(),
        "programme_url": external_url("public.index"),
        "register_url": (
            external_url("registration.form", seance=meeting.slug) if meeting is not None else None
        ),
        "manage_url": (
            assistant_url(assistant)
            if assistant is not None
            else manage_url(person)
            if to_person and person and not erased
            else None
        ),
        # Staff notifications open « Bonjour, »; a person is addressed formally (an erased
        # person, whose civilité is gone, as « Madame, Monsieur, »).
        "salutation": salutation_for(None if erased else person)
        if to_person and person
        else "Bonjour,",
        "erased": erased,
        "assistant": assistant,
    }
    if assistant is None and to_person and person is not None and not erased:
        # The official sees who else reads their messages (and may withdraw it from their page).
        context["copied_to"] = [link.assistant.full_name for link in assistants_of(person)]
    if assistant is not None and person is not None:
        context["assistant_salutation"] = salutation_for(assistant)
        context["official_title"] = official_title(person)
        context["assistant_role"] = assistant_of_phrase(assistant)
    if registration is not None and to_person and not erased:
        context["cancel_url"] = cancel_url(registration)
        if email.kind == RECONFIRM_KIND:
            context["reconfirm_url"] = reconfirm_url(registration)
    if email.kind in SEAT_KINDS and meeting is not None and meeting.mode.value == "video":
        from irev.services.video_links import link_plan  # it imports this module

        context["link_plan"] = link_plan(meeting)
    context["video"] = video_details(email, registration, meeting)
    if email.kind in STAFF_LINK_ENDPOINTS:
        context["link_url"] = staff_link_url(email)
    context["calendar"] = calendar_method(email, registration, meeting)
    if email.kind in FOLLOWUP_KINDS and to_person and not erased:
        from irev.services import followup  # it renders its previews through this module

        context.update(followup.email_context(email, registration, person))
    for key, value in (email.context or {}).items():
        context.setdefault(key, value)
    context["change_lines"] = change_lines(meeting, email.context or {})
    return context


def _render_one(name: str, context: dict[str, Any]) -> str:
    """Render one template of the emails/ folder."""
    from jinja2 import TemplateNotFound

    try:
        template = current_app.jinja_env.get_template(f"emails/{name}")
    except TemplateNotFound as error:
        raise RenderError(f"gabarit d’e-mail manquant : emails/{name}") from error
    return template.render(context)


def render(email: OutboundEmail, *, ics_cache: dict | None = None) -> Rendered:
    """Render subject, plain text and HTML of an outbox row, plus its calendar if any."""
    context = template_context(email)
    # collapse() folds every space, no-break ones included: the typography goes on after it.
    subject = french(collapse(_render_one(f"{email.kind}.subject.txt", context)))
    if not subject:
        raise RenderError(f"objet vide pour {email.kind}")
    context["subject"] = subject
    text = _render_one(f"{email.kind}.txt", context).strip() + "\n"
    if email.kind in FOLLOWUP_KINDS:  # sections that may be absent: one empty line between
        text = re.sub(r"\n(?:[ \t]*\n){2,}", "\n\n", text)
    html = _render_one(f"{email.kind}.html", context)
    rendered = Rendered(subject=subject, text=text, html=html)
    method = context["calendar"]
    if method:
        rendered.attachments.append(
            _calendar(email, context["registration"], context["meeting"], method, ics_cache)
        )
    elif email.kind == SUMMARY_KIND:
        seats = _summary_seats(email)
        if seats:
            rendered.attachments.append(_seats_calendar(seats))
    if context.get("attestation_pdf"):
        name, pdf = context["attestation_pdf"]
        rendered.attachments.append((name, "application", "pdf", {}, pdf))
    return rendered


#: A summary of several registrations placed at once (irev.services.registration_events).
SUMMARY_KIND = "summary_to_registrant"


def _summary_seats(email: OutboundEmail) -> list[Registration]:
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


def _seats_calendar(
    registrations: list[Registration],
) -> tuple[str, str, str, dict[str, str], bytes]:
    """Return one PUBLISH calendar holding every seat of a summary, each at its own SEQUENCE."""
    from irev.calendars import meeting_calendar

    offsets = {r.meeting_id: sequence_offset(r, "PUBLISH", SUMMARY_KIND) for r in registrations}
    data = meeting_calendar(
        [r.meeting for r in registrations], method="PUBLISH", sequence_offsets=offsets
    )
    return "seances.ics", "text", "calendar", {"method": "PUBLISH", "charset": "utf-8"}, data


def _calendar(
    email: OutboundEmail,
    registration: Registration,
    meeting: Meeting,
    method: str,
    cache: dict | None,
) -> tuple[str, str, str, dict[str, str], bytes]:
    """Return the .ics attachment: the UID of /seances/<slug>.ics, the person's own SEQUENCE.

    A PUBLISH that goes with the video link carries it too (LOCATION and DESCRIPTION): the
    seated person finds it in their agenda. The public files never hold it.
    """
    from irev.calendars import meeting_calendar

    video = video_details(email, registration, meeting) if method == "PUBLISH" else None
    offset = sequence_offset(registration, method, email.kind, cache)
    key = (meeting.id, meeting.sequence, method, offset, tuple(sorted((video or {}).items())))
    data = cache.get(key) if cache is not None else None
    if data is None:
        data = meeting_calendar([meeting], method=method, sequence_offset=offset, video=video)
        if cache is not None:
            cache[key] = data
    filename = f"{meeting.slug}.ics" if method == "PUBLISH" else f"{meeting.slug}-annulation.ics"
    return filename, "text", "calendar", {"method": method, "charset": "utf-8"}, data


HeaderError = mime.HeaderError
header_value = mime.header_value


@lru_cache(maxsize=16)
def _configured_mailbox(value: str) -> str:
    """Return a configured "Name <addr>" (MAIL_DEFAULT_SENDER, MAIL_REPLY_TO) for a header."""
    name, address = parseaddr(header_value(value))
    return mime.mailbox(name, address)


def reply_to(programme: Programme | None) -> str:
    """Return the Reply-To address: MAIL_REPLY_TO, else the programme's contact address."""
    configured = current_app.config.get("MAIL_REPLY_TO")
    if configured:
        return str(configured)
    if programme is not None and programme.contact_email:
        return programme.contact_email
    return str(current_app.config["MAIL_DEFAULT_SENDER"])


def _reply_to_header(email: OutboundEmail, programme: Programme | None) -> str:
    """Return the Reply-To mailbox: the registrant for a message to staff, else the staff's.

    Staff answering a notification write to the person it is about, not to themselves.
    """
    if email.kind.endswith("_to_staff") and email.person_id:
        person = db.session.get(Person, email.person_id)
        if person is not None and person.email:
            return mime.mailbox(person.full_name, person.email)
    return _configured_mailbox(reply_to(programme))


def sender() -> str:
    """Return the From address (configuration only: user text never goes into From)."""
    return str(current_app.config["MAIL_DEFAULT_SENDER"])


def site_domain() -> str:
    """Return the host name of IREV_BASE_URL, for Message-ID."""
    return urlsplit(base_url()).hostname or "localhost"


@dataclass
class Built:
    """A message as it goes on the wire, with what the outbox records about it."""

    raw: bytes
    message_id: str
    recipient: str


def build_raw(
    email: OutboundEmail, rendered: Rendered | None = None, *, ics_cache: dict | None = None
) -> Built:
    """Return the complete message of an outbox row as wire bytes (see irev.mime)."""
    rendered = rendered or render(email, ics_cache=ics_cache)
    programme = None
    if email.meeting_id:
        meeting = db.session.get(Meeting, email.meeting_id)
        programme = meeting.programme if meeting else None
    message_id = make_msgid(domain=site_domain())
    to = mime.mailbox(email.to_name, email.to_address)
    headers = [
        mime.unstructured("Subject", rendered.subject),
        f"From: {_configured_mailbox(sender())}",
        f"To: {to}",
        f"Reply-To: {_reply_to_header(email, programme)}",
        f"Date: {format_datetime(utcnow().astimezone(PARIS).replace(microsecond=0))}",
        f"Message-ID: {message_id}",
        # RFC 3834: automatic replies ("out of office") must not answer a transactional message.
        "Auto-Submitted: auto-generated",
    ]
    attachments = [
        mime.attachment_part(filename, maintype, subtype, tuple(params.items()), data)
        for filename, maintype, subtype, params, data in rendered.attachments
    ]
    raw = mime.message_bytes(headers, rendered.text, rendered.html, attachments)
    return Built(raw=raw, message_id=message_id, recipient=email.to_address.strip())


def preview(email: OutboundEmail) -> dict[str, Any]:
    """Return subject, text, html and attachment names of a message, for the staff e-mail log.

    A sent or captured message is read back from the exact bytes that left; a pending one is
    rendered now (its links and times may still change before it is sent).
    """
    if email.kind in STAFF_LINK_ENDPOINTS:
        # The link would let whoever reads the log take over a colleague's account.
        return _masked_preview(email)
    if email.raw_message:
        parsed = message_from_string(email.raw_message, policy=policy.default)
        text_part = parsed.get_body(preferencelist=("plain",))
        html_part = parsed.get_body(preferencelist=("html",))
        return {
            "subject": str(parsed["Subject"] or ""),
            "to": str(parsed["To"] or ""),
            "text": text_part.get_content() if text_part else "",
            "html": html_part.get_content() if html_part else "",
            "attachments": [part.get_filename() for part in parsed.iter_attachments()],
            "sent": True,
        }
    rendered = render(email)
    return {
        "subject": rendered.subject,
        "to": email.to_address,
        "text": rendered.text,
        "html": rendered.html,
        "attachments": [attachment[0] for attachment in rendered.attachments],
        "sent": False,
    }


#: Shown in the e-mail log instead of a staff-account message (its link is a password).
MASKED_BODY = (
    "Ce message contient un lien personnel qui permet de choisir le mot de passe d’un compte "
    "de l’équipe : il n’est pas affiché ici."
)


def _masked_preview(email: OutboundEmail) -> dict[str, Any]:
    """Return the preview of a staff-account message without its body or link."""
    return {
        "subject": email.subject or email.kind,
        "to": email.to_address,
        "text": MASKED_BODY,
        "html": f"<p>{MASKED_BODY}</p>",
        "attachments": [],
        "sent": bool(email.raw_message),
    }
