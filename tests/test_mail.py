"""The outbox worker against a real SMTP server (aiosmtpd): content, headers, links, faults."""

from __future__ import annotations

import smtplib
import threading
from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit

import icalendar
import pytest
from freezegun import freeze_time
from sqlalchemy import update

from irev import mail as transport_module
from irev.calendars import meeting_uid
from irev.extensions import db
from irev.models import EmailStatus, MeetingStatus, OutboundEmail, RegistrationState, utcnow
from irev.notifications import preview
from irev.services import email_log, outbox, sending
from irev.tokens import read_token
from tests.registration_support import rows

S = RegistrationState


@pytest.fixture
def app_config(smtp_server):
    return {**smtp_server.app_config(), "IREV_MAIL_BATCH_SIZE": 10}


def queue(registration, kind="video_link_to_registrant", key=None, **context) -> None:
    """Queue one message for a registration (as the registration helper's code does)."""
    outbox.enqueue(
        kind,
        registration.person.email,
        dedupe_key=key or f"registration:{registration.id}:{kind}:test",
        registration=registration,
        context=context,
    )


def parts(message: EmailMessage) -> tuple[str, str, list[EmailMessage]]:
    """Return plain text, HTML and attachments of a received message."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content(), list(message.iter_attachments())


def soon_meeting(create_meeting, hours: float = 2, **values):
    """Return a published meeting starting in `hours` (the day-before moment has passed)."""
    start = utcnow().replace(microsecond=0) + timedelta(hours=hours)
    return create_meeting(starts_at=start, ends_at=start + timedelta(hours=2), **values)


# --- The message itself -----------------------------------------------------------------------


def test_video_link_message_as_received(
    app, client, smtp_server, create_meeting, create_registration
):
    meeting = soon_meeting(create_meeting, title="Mixité sociale dans l’habitat")
    seated = create_registration(meeting)
    db.session.commit()

    report = sending.run_pass()

    assert report.sending.sent == 1
    [received] = smtp_server.received
    message = received.message
    assert received.rcpt_tos == [seated.person.email]
    assert received.mail_from == "rencontres-elus@irev.fr"
    assert message["From"].addresses[0].addr_spec == "rencontres-elus@irev.fr"
    assert message["Reply-To"].addresses[0].addr_spec == "m.petit@irev.fr"
    assert message["To"].addresses[0].addr_spec == seated.person.email
    assert message["Date"].datetime is not None
    assert message["Message-ID"].endswith("@irev.test>")
    assert message["Auto-Submitted"] == "auto-generated"
    subject = str(message["Subject"])
    assert "Mixité sociale dans l’habitat" in subject
    assert meeting.starts_at.astimezone().year != 0 and str(meeting.starts_at.year) in subject

    # multipart/mixed around multipart/alternative (plain first, HTML second) and the calendar
    assert message.get_content_type() == "multipart/mixed"
    alternative, calendar_part = message.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.get_payload()] == [
        "text/plain",
        "text/html",
    ]
    text, html, attachments = parts(message)
    assert meeting.video_url in text and meeting.video_passcode in text
    assert meeting.video_meeting_id in text
    assert f'href="{meeting.video_url}"' in html
    assert '<html lang="fr">' in html
    assert "<img" not in html.lower()

    # the calendar: same UID and SEQUENCE as the public .ics, Paris times, and the seated
    # person's own copy carries the link (the public files never do: tests/test_calendars.py)
    assert attachments == [calendar_part]
    assert calendar_part.get_content_type() == "text/calendar"
    assert calendar_part.get_param("method") == "PUBLISH"
    ics = icalendar.Calendar.from_ical(calendar_part.get_payload(decode=True))
    assert ics["METHOD"] == "PUBLISH"
    [event] = ics.walk("VEVENT")
    assert str(event["UID"]) == meeting_uid(meeting)
    assert int(event["SEQUENCE"]) == meeting.sequence
    assert event["DTSTART"].dt == meeting.starts_at
    assert event["DTSTART"].params["TZID"] == "Europe/Paris"
    assert ics.walk("VTIMEZONE")
    assert str(event["LOCATION"]) == meeting.video_url
    assert meeting.video_url in str(event["DESCRIPTION"])
    assert meeting.video_passcode in str(event["DESCRIPTION"])

    # the links: signed for the right person and registration
    manage = next(line for line in text.splitlines() if "/inscription/gerer/" in line)
    cancel = next(line for line in text.splitlines() if "/inscription/annuler/" in line)
    manage_token = urlsplit(manage.strip()).path.rsplit("/", 1)[1]
    cancel_token = urlsplit(cancel.strip()).path.rsplit("/", 1)[1]
    assert read_token("manage", manage_token) == {"p": seated.person.id, "v": 0}
    assert read_token("cancel", cancel_token) == {"r": seated.id, "v": 0}
    assert manage.strip() in html and cancel.strip() in html
    routes = {rule.rule.split("<")[0] for rule in app.url_map.iter_rules()}
    for url, prefix in ((manage, "/inscription/gerer/"), (cancel, "/inscription/annuler/")):
        if prefix in routes:  # the pages of the registration issue
            page = client.get(urlsplit(url.strip()).path)
            assert page.status_code == 200

    # the proof kept in the outbox is what the server received
    [row] = rows()
    assert row.status is EmailStatus.SENT
    assert row.sent_at is not None
    assert row.message_id == message["Message-ID"]
    assert row.subject == subject
    assert row.raw_message.encode().rstrip() == received.raw.rstrip()
    assert preview(row)["text"] == text


def test_header_injection_and_html_are_neutralised(
    smtp_server, create_meeting, create_person, create_registration
):
    # The person's name is no longer in the message (« Madame, Monsieur, »): the title is.
    meeting = soon_meeting(
        create_meeting, title="<script>alert(1)</script> Séance\r\nBcc: pirate@evil.example"
    )
    person = create_person(
        first_name="<script>alert(1)</script>\r\nBcc: pirate@evil.example",
        last_name="Martin\nX-Injected: oui",
    )
    create_registration(meeting, person)
    db.session.commit()

    sending.run_pass()

    [received] = smtp_server.received
    assert received.rcpt_tos == [person.email]
    message = received.message
    assert message["Bcc"] is None and message["X-Injected"] is None
    assert "\n" not in str(message["Subject"]) and "Bcc: pirate" in str(message["Subject"])
    _, html, _ = parts(message)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_every_message_to_a_person_carries_the_self_service_link(
    smtp_server, create_meeting, create_registration
):
    meeting = create_meeting()
    registrations = [create_registration(meeting, state=state) for state in (S.WAITING, S.SEATED)]
    db.session.commit()
    meeting.status = MeetingStatus.CANCELLED
    db.session.commit()

    sending.run_pass()

    assert len(smtp_server.received) == 2
    for received in smtp_server.received:
        text, html, _ = parts(received.message)
        assert "/inscription/gerer/" in text and "/inscription/gerer/" in html
    assert {r.to for r in smtp_server.received} == {r.person.email for r in registrations}


# --- The worker: once each, batches, faults ---------------------------------------------------


def test_each_message_is_sent_once_over_one_connection_per_batch(
    smtp_server, create_meeting, create_registration, monkeypatch
):
    meeting = create_meeting()
    registrations = [create_registration(meeting) for _ in range(25)]
    for registration in registrations:
        queue(registration, "meeting_cancelled_to_registrant")
    meeting.status = MeetingStatus.CANCELLED
    db.session.commit()
    connections = []
    original = smtplib.SMTP.connect

    def counting_connect(self, *args, **kwargs):
        connections.append(args)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(smtplib.SMTP, "connect", counting_connect)

    first = sending.send_pending()
    second = sending.send_pending()

    assert first.sent == 25 and second.sent == 0
    assert len(connections) == 3  # 25 messages in batches of 10
    assert sorted(r.to for r in smtp_server.received) == sorted(
        r.person.email for r in registrations
    )
    assert all(row.status is EmailStatus.SENT for row in rows())


def test_server_down_then_back_every_message_arrives_once(
    smtp_server, create_meeting, create_registration
):
    meeting = create_meeting(status=MeetingStatus.CANCELLED)
    registrations = [create_registration(meeting) for _ in range(3)]
    for registration in registrations:
        queue(registration, "meeting_cancelled_to_registrant")
    db.session.commit()
    smtp_server.stop()

    report = sending.send_pending()

    assert report.retried == 3 and report.sent == 0
    for row in rows():
        assert row.status is EmailStatus.PENDING
        assert row.attempts == 1
        assert "connexion au serveur impossible" in row.last_error
        assert row.locked_until is None
        # the first retry within a minute
        assert timedelta(0) < row.next_attempt_at - utcnow() <= timedelta(minutes=1)
    assert sending.send_pending().sent == 0  # not due yet: nothing tried

    smtp_server.start()
    db.session.execute(update(OutboundEmail).values(next_attempt_at=utcnow()))
    db.session.commit()
    assert sending.send_pending().sent == 3
    assert sending.send_pending().sent == 0

    assert sorted(r.to for r in smtp_server.received) == sorted(
        r.person.email for r in registrations
    )
    assert all(row.status is EmailStatus.SENT and row.attempts == 2 for row in rows())


@pytest.mark.parametrize(
    ("code", "status", "attempts_left"),
    [(550, EmailStatus.FAILED, False), (450, EmailStatus.PENDING, True)],
)
def test_a_refused_recipient_does_not_block_the_others(
    smtp_server, create_meeting, create_person, create_registration, code, status, attempts_left
):
    meeting = create_meeting(status=MeetingStatus.CANCELLED)
    refused = create_person(email="inconnu@commune.example")
    registrations = [
        create_registration(meeting),
        create_registration(meeting, refused),
        create_registration(meeting),
    ]
    for registration in registrations:
        queue(registration, "meeting_cancelled_to_registrant")
    db.session.commit()
    smtp_server.refused["inconnu@commune.example"] = code

    report = sending.send_pending()

    assert report.sent == 2
    assert sorted(r.to for r in smtp_server.received) == sorted(
        [registrations[0].person.email, registrations[2].person.email]
    )
    [refused_row] = rows(to_address="inconnu@commune.example")
    assert refused_row.status is status
    assert refused_row.attempts == 1
    assert str(code) in refused_row.last_error
    assert (refused_row.next_attempt_at > utcnow()) is attempts_left


def test_backoff_doubles_and_gives_up_after_24_hours(app, create_registration):
    registration = create_registration()
    queue(registration, "meeting_cancelled_to_registrant")
    db.session.commit()
    [row] = rows()
    start = row.created_at
    waits = []
    now = start
    while row.status is EmailStatus.PENDING:
        outbox.mark_failure(row, "421 plus tard", now=now)
        waits.append(row.next_attempt_at - now)
        now = row.next_attempt_at
    assert waits[:5] == [timedelta(minutes=m) for m in (1, 2, 4, 8, 16)]
    assert row.status is EmailStatus.FAILED
    assert now - start == timedelta(hours=24)  # the last try happens at the deadline
    assert waits[-1] == timedelta(0)


@freeze_time("2024-05-01 08:00:00")
def test_a_message_still_failing_after_24_hours_is_marked_failed(
    smtp_server, create_meeting, create_registration
):
    meeting = create_meeting(status=MeetingStatus.CANCELLED)
    queue(create_registration(meeting), "meeting_cancelled_to_registrant")
    db.session.commit()
    smtp_server.stop()  # and it never comes back

    with freeze_time("2024-05-02 07:59:00"):
        db.session.execute(update(OutboundEmail).values(next_attempt_at=utcnow()))
        db.session.commit()
        sending.send_pending()
        [row] = rows()
        assert row.status is EmailStatus.PENDING
        assert row.next_attempt_at == row.created_at + timedelta(hours=24)
    with freeze_time("2024-05-02 08:00:00"):
        sending.send_pending()
        [row] = rows()
        assert row.status is EmailStatus.FAILED
        assert row.attempts == 2
        assert email_log.list_emails(failed_only=True).items == [row]


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, not even `except Exception`."""


def test_worker_killed_mid_batch_loses_nothing_and_repeats_at_most_one(
    smtp_server, create_meeting, create_registration, monkeypatch
):
    meeting = create_meeting(status=MeetingStatus.CANCELLED)
    registrations = [create_registration(meeting) for _ in range(6)]
    for registration in registrations:
        queue(registration, "meeting_cancelled_to_registrant")
    db.session.commit()
    # start() puts a whole message on the wire (the server's reply is read later).
    original = transport_module.SmtpTransport.start
    calls = []

    def send_then_die(self, recipient, raw, **waiting):
        calls.append(recipient)
        original(self, recipient, raw, **waiting)
        if len(calls) == 3:  # the third message left, the worker dies before recording it
            raise Killed

    monkeypatch.setattr(transport_module.SmtpTransport, "start", send_then_die)
    with pytest.raises(Killed):
        sending.send_pending()
    db.session.rollback()
    monkeypatch.setattr(transport_module.SmtpTransport, "start", original)

    statuses = [row.status for row in rows()]
    assert statuses == [EmailStatus.SENT] * 2 + [EmailStatus.PENDING] * 4
    # the dead worker's lease still holds its rows: another pass takes nothing yet
    assert sending.send_pending().sent == 0
    # the lease runs out
    db.session.execute(update(OutboundEmail).values(locked_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert sending.send_pending().sent == 4

    counts = {r.person.email: len(smtp_server.to(r.person.email)) for r in registrations}
    assert counts == {r.person.email: 2 if i == 2 else 1 for i, r in enumerate(registrations)}
    assert all(row.status is EmailStatus.SENT for row in rows())


def test_a_stop_request_finishes_the_message_in_hand_and_releases_the_rest(
    smtp_server, create_meeting, create_registration, monkeypatch
):
    meeting = create_meeting(status=MeetingStatus.CANCELLED)
    for _ in range(4):
        queue(create_registration(meeting), "meeting_cancelled_to_registrant")
    db.session.commit()
    stopping = threading.Event()
    original = transport_module.SmtpTransport.start

    def send_during_sigterm(self, recipient, raw, **waiting):
        stopping.set()  # SIGTERM arrives while this message is being sent
        original(self, recipient, raw, **waiting)

    monkeypatch.setattr(transport_module.SmtpTransport, "start", send_during_sigterm)
    report = sending.send_pending(stop=stopping.is_set)

    assert report.sent == 1 and len(smtp_server.received) == 1
    left = rows(status=EmailStatus.PENDING)
    assert len(left) == 3 and all(row.locked_until is None for row in left)
    monkeypatch.setattr(transport_module.SmtpTransport, "start", original)
    assert sending.send_pending().sent == 3


@pytest.mark.postgresql
def test_two_workers_on_postgresql_never_send_a_message_twice(
    app, smtp_server, create_meeting, create_registration
):
    meeting = create_meeting(status=MeetingStatus.CANCELLED, capacity=60)
    registrations = [create_registration(meeting) for _ in range(60)]
    for registration in registrations:
        queue(registration, "meeting_cancelled_to_registrant")
    db.session.commit()
    app.config["IREV_MAIL_BATCH_SIZE"] = 4
    start = threading.Barrier(3)
    reports = []
    errors = []

    def worker() -> None:
        with app.app_context():
            try:
                start.wait()
                reports.append(sending.send_pending())
            except Exception as error:  # surfaced below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not errors
    assert sum(report.sent for report in reports) == 60
    assert all(report.sent > 0 for report in reports)  # they really worked side by side
    received = sorted(r.to for r in smtp_server.received)
    assert received == sorted(r.person.email for r in registrations)
    assert len(set(received)) == 60


@pytest.mark.postgresql
def test_concurrent_claims_on_postgresql_are_disjoint(app, create_registration):
    for _ in range(30):
        queue(create_registration(), "meeting_cancelled_to_registrant")
    db.session.commit()
    start = threading.Barrier(3)
    claims: list[list[int]] = []

    def claim() -> None:
        with app.app_context():
            start.wait()
            claims.append(outbox.claim_due(10))
            db.session.remove()

    threads = [threading.Thread(target=claim) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    claimed = [i for ids in claims for i in ids]
    assert len(claimed) == 30 and len(set(claimed)) == 30


# --- Development capture and commands ---------------------------------------------------------


@pytest.fixture
def capture_app(app):
    """The same app without MAIL_SERVER: the development capture."""
    app.config["MAIL_SERVER"] = None
    return app


def test_without_mail_server_messages_are_captured_for_staff(
    capture_app, smtp_server, runner, create_meeting, create_registration
):
    meeting = soon_meeting(create_meeting)
    registration = create_registration(meeting)
    db.session.commit()

    result = runner.invoke(args=["mail", "send"])

    assert result.exit_code == 0, result.output
    assert "1 e-mail programmé," in result.output
    assert "1 capturé " in result.output
    assert smtp_server.received == []
    [row] = rows()
    assert row.status is EmailStatus.SENT and row.kind == "video_link_to_registrant"
    shown = preview(row)
    assert shown["sent"] is True
    assert meeting.video_url in shown["text"] and meeting.title in shown["subject"]
    assert shown["attachments"] == [f"{meeting.slug}.ics"]
    assert registration.person.email in shown["to"]
    page = email_log.list_emails(status="sent")
    assert page.items == [row] and page.total == 1
    assert email_log.count_by_status()["sent"] == 1


def test_worker_once_and_bad_schedule(
    app, runner, smtp_server, create_meeting, create_registration
):
    create_registration(soon_meeting(create_meeting))
    db.session.commit()

    result = runner.invoke(args=["mail", "worker", "--once", "--interval", "1"])

    assert result.exit_code == 0, result.output
    assert "1 envoyé," in result.output and "arrêté" in result.output
    assert len(smtp_server.received) == 1

    app.config["IREV_VIDEO_LINK_SCHEDULE"] = "veille@25:00"
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code != 0
    assert "Heure invalide" in result.output


def test_send_again(app, smtp_server, create_meeting, create_registration):
    meeting = create_meeting(status=MeetingStatus.CANCELLED)
    queue(create_registration(meeting), "meeting_cancelled_to_registrant")
    db.session.commit()
    sending.send_pending()
    [row] = rows()

    copy = email_log.send_again(row)
    db.session.commit()
    sending.send_pending()

    assert copy.id != row.id and copy.dedupe_key.endswith(":again:1")
    assert len(smtp_server.received) == 2
    assert (
        smtp_server.received[0].message["Message-ID"]
        != smtp_server.received[1].message["Message-ID"]
    )


def test_a_line_break_in_a_header_is_refused_and_nothing_leaves(
    app, smtp_server, create_meeting, create_registration
):
    meeting = create_meeting(status=MeetingStatus.CANCELLED)
    queue(create_registration(meeting), "meeting_cancelled_to_registrant")
    db.session.commit()
    app.config["MAIL_REPLY_TO"] = "m.petit@irev.fr\r\nBcc: pirate@evil.example"

    report = sending.send_pending()

    assert report.sent == 0 and smtp_server.received == []
    [row] = rows()
    assert row.status is EmailStatus.PENDING and row.attempts == 1
    assert "saut de ligne refusé" in row.last_error
