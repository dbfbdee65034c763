"""The real e-mails, sent by the real `flask mail worker` to Postfix (Debian's package).

A private Postfix instance (tests/postfix.py) takes the messages over SMTP and delivers them
into a Maildir; the test reads the mailbox as a mail client would. What it proves: Postfix
accepts every message as we write it (no bounce, nothing deferred), adds its own trace lines on
top and changes nothing else (the bytes under them are the ones the outbox kept), keeps our
Message-ID and Date, adds no signature, and the quoted-printable French text, the calendar and
the signed links come out whole. The confirmation link read from Postfix's mailbox confirms the
request, and the seat message that follows arrives the same way.
"""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit

import icalendar
import pytest

from irev.calendars import meeting_uid
from irev.extensions import db
from irev.models import EmailStatus, OutboundEmail, Person, utcnow
from irev.tokens import read_token
from tests import postfix, servers
from tests.registration_support import form_data

#: The worker signs links with the same key as this process, which reads them back.
SECRET_KEY = "postfix-delivery-secret-key-" + "x" * 32
BASE_URL = "https://rencontres.irev.test"


@pytest.fixture(scope="module")
def mail_server():
    """A private Postfix on a free loopback port for this module, stopped afterwards."""
    reason = postfix.unavailable()
    if reason:
        pytest.skip(reason)  # a failure in CI (tests/conftest.py): CI installs Postfix
    with postfix.running() as instance:
        yield instance


@pytest.fixture
def app_config(mail_server) -> dict:
    """This process signs and reads links like the worker (same key and base URL)."""
    mail_server.clear()
    return {"SECRET_KEY": SECRET_KEY, "IREV_BASE_URL": BASE_URL}


def run_worker_until(mail_server, db_url: str, tmp_path, count: int) -> list[EmailMessage]:
    """Run `flask mail worker` as production runs it until Postfix has delivered `count`."""
    db.session.commit()  # end this process's read transaction: SQLite would lock the worker out
    env = servers.server_env(
        db_url,
        BASE_URL,
        mail_port=mail_server.port,
        secret_key=SECRET_KEY,
        extra={"FLASK_IREV_PROXY_HOPS": "0"},
    )
    with servers.mail_worker(env, tmp_path / "worker.log"):
        try:
            return mail_server.wait_for(count, timeout=90)
        except AssertionError as error:
            raise AssertionError(f"{error}\n{(tmp_path / 'worker.log').read_text()}") from None


def kept(message: EmailMessage) -> OutboundEmail:
    """Return the outbox row of a delivered message (by its Message-ID)."""
    db.session.expire_all()
    row = db.session.scalar(
        db.select(OutboundEmail).where(OutboundEmail.message_id == message["Message-ID"])
    )
    assert row is not None, message["Message-ID"]
    return row


def assert_delivered_intact(raw: bytes, row: OutboundEmail) -> None:
    """Check that Postfix only put its trace lines on top of the bytes we sent."""
    assert row.status is EmailStatus.SENT
    sent = row.raw_message.replace("\r\n", "\n").encode()
    head, _, _ = raw.partition(b"\n\n")
    trace = []
    rest = raw
    # Postfix's lines, then ours: Return-Path, X-Original-To, Delivered-To, Received (folded).
    while re.match(rb"(Return-Path|X-Original-To|Delivered-To|Received):|[ \t]", rest):
        line, _, rest = rest.partition(b"\n")
        trace.append(line)
    assert [t.split(b":")[0] for t in trace if not t[:1].isspace()] == [
        b"Return-Path",
        b"X-Original-To",
        b"Delivered-To",
        b"Received",
    ]
    assert rest.rstrip(b"\n") == sent.rstrip(b"\n")
    assert b"DKIM-Signature" not in head and b"X-Postfix" not in head


def parts(message: EmailMessage) -> tuple[str, str, list[EmailMessage]]:
    """Return the plain text, the HTML and the attachments of a delivered message."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content(), list(message.iter_attachments())


def test_request_confirmation_and_seat_through_postfix(
    app, client, db_url, tmp_path, mail_server, create_meeting
):
    meeting = create_meeting(title="Mixité sociale dans l’habitat : quels enjeux ?")
    db.session.commit()
    address = "camille.durand@roubaix.example"
    assert client.post("/inscription", data=form_data(meeting.slug, email=address)).status_code
    db.session.commit()

    delivered = run_worker_until(mail_server, db_url, tmp_path, 1)
    [request_mail] = [m for m in delivered if m["Delivered-To"] == address]
    [raw] = [r for r in mail_server.raw_messages() if address.encode() in r]
    row = kept(request_mail)
    assert row.kind == "request_to_registrant"
    assert_delivered_intact(raw, row)
    assert request_mail["Message-ID"] == row.message_id
    assert len(request_mail.get_all("Message-ID")) == 1 and len(request_mail.get_all("Date")) == 1
    assert str(request_mail["Subject"]) == row.subject
    assert request_mail["Return-Path"] == "<rencontres-elus@irev.fr>"
    text, html, _ = parts(request_mail)
    assert "Mixité sociale dans l’habitat" in text and "Mixité sociale dans l’habitat" in html
    assert b"Content-Transfer-Encoding: quoted-printable" in raw
    link = next(word for word in text.split() if "/inscription/confirmer/" in word)
    assert link.startswith(BASE_URL)

    # The link read from Postfix's mailbox confirms the request (a page, then its button).
    path = urlsplit(link).path
    assert client.get(path).status_code == 200
    assert client.post(path).status_code in (200, 303)
    db.session.commit()
    mail_server.clear()

    delivered = run_worker_until(mail_server, db_url, tmp_path, 1)
    [seat_mail] = [m for m in delivered if m["Delivered-To"] == address]
    [raw] = [r for r in mail_server.raw_messages() if address.encode() in r]
    row = kept(seat_mail)
    assert row.kind in ("seated_to_registrant", "summary_to_registrant")
    assert_delivered_intact(raw, row)
    _, _, attachments = parts(seat_mail)
    [calendar] = [a for a in attachments if a.get_content_type() == "text/calendar"]
    ics = icalendar.Calendar.from_ical(calendar.get_payload(decode=True))
    [event] = ics.walk("VEVENT")
    assert str(event["UID"]) == meeting_uid(meeting)
    assert event["DTSTART"].dt == meeting.starts_at
    assert "Mixité sociale" in str(event["SUMMARY"])
    assert no_bounce(mail_server)


def test_video_link_reminder_through_postfix(
    app, db_url, tmp_path, mail_server, create_meeting, create_registration
):
    start = utcnow().replace(microsecond=0) + timedelta(hours=2)
    meeting = create_meeting(
        title="Transitions et quartiers « prioritaires »",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
    )
    seated = [create_registration(meeting) for _ in range(3)]
    db.session.commit()
    addresses = {r.person.email for r in seated}

    delivered = run_worker_until(mail_server, db_url, tmp_path, 3)
    assert {m["Delivered-To"] for m in delivered} == addresses
    raws = {
        m["Message-ID"]: raw for m, raw in zip(delivered, mail_server.raw_messages(), strict=True)
    }
    for message in delivered:
        row = kept(message)
        assert row.kind == "video_link_to_registrant"
        assert_delivered_intact(raws[message["Message-ID"]], row)
        text, html, attachments = parts(message)
        assert meeting.video_url in text and f'href="{meeting.video_url}"' in html
        assert "« prioritaires »" in text.replace("\u202f", " ")
        person = db.session.scalar(db.select(Person).filter_by(email=message["Delivered-To"]))
        manage = next(w for w in text.split() if "/inscription/gerer/" in w)
        token = urlsplit(manage).path.rsplit("/", 1)[1]
        assert read_token("manage", token)["p"] == person.id
        [calendar] = attachments
        assert calendar.get_param("method") == "PUBLISH"
        ics = icalendar.Calendar.from_ical(calendar.get_payload(decode=True))
        assert str(ics.walk("VEVENT")[0]["LOCATION"]) == meeting.video_url
    assert no_bounce(mail_server)


def test_a_refused_recipient_between_two_others_through_postfix(
    app, db_url, tmp_path, mail_server, create_meeting, create_registration, create_person
):
    # Postfix offers PIPELINING: the worker sends MAIL, RCPT and DATA at once and reads the
    # replies; a 550 at RCPT fails that message alone, the next ones go.
    start = utcnow().replace(microsecond=0) + timedelta(hours=2)
    meeting = create_meeting(starts_at=start, ends_at=start + timedelta(hours=2))
    people = [
        create_person(email="premiere@commune.example"),
        create_person(email=f"{postfix.REFUSED_LOCAL_PART}@commune.example"),
        create_person(email="troisieme@commune.example"),
    ]
    for person in people:
        create_registration(meeting, person=person)
    db.session.commit()

    delivered = run_worker_until(mail_server, db_url, tmp_path, 2)
    assert sorted(m["Delivered-To"] for m in delivered) == [
        "premiere@commune.example",
        "troisieme@commune.example",
    ]
    db.session.expire_all()
    refused = db.session.scalar(
        db.select(OutboundEmail).where(OutboundEmail.to_address == people[1].email)
    )
    assert refused.status is EmailStatus.FAILED
    assert "550" in (refused.last_error or "")
    for message in delivered:
        assert_delivered_intact(
            next(r for r in mail_server.raw_messages() if message["Message-ID"].encode() in r),
            kept(message),
        )
    assert mail_server.queue_is_empty()
    assert "status=bounced" not in mail_server.log()


def no_bounce(mail_server) -> bool:
    """Return True when Postfix bounced and deferred nothing (mailbox, queue and its log)."""
    senders = [str(m.get("From", "")) for m in mail_server.messages()]
    log = mail_server.log()
    return (
        not any("MAILER-DAEMON" in s.upper() for s in senders)
        and mail_server.queue_is_empty()
        and "status=bounced" not in log
        and "status=deferred" not in log
        and "status=sent" in log
    )
