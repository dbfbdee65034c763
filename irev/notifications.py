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
from irev.email_calendars import (
    SEAT_KINDS,
    SUMMARY_KIND,
    calendar_method,
    meeting_attachment,
    seats_calendar,
    summary_seats,
)
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
        registration, meeting = context["registration"], context["meeting"]
        rendered.attachments.append(
            meeting_attachment(email, registration, meeting, method, ics_cache, context["video"])
        )
    elif email.kind == SUMMARY_KIND:
        seats = summary_seats(email)
        if seats:
            rendered.attachments.append(seats_calendar(seats))
    if context.get("attestation_pdf"):
        name, pdf = context["attestation_pdf"]
        rendered.attachments.append((name, "application", "pdf", {}, pdf))
    return rendered


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
