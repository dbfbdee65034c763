"""The video link before each meeting: who gets it, when, once, and the corrections."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import icalendar
import pytest
from freezegun import freeze_time
from sqlalchemy import select, text

from irev.dates import hour, meeting_when
from irev.extensions import db
from irev.models import EmailStatus, MeetingStatus, OutboundEmail, RegistrationState, utcnow
from irev.services import link_schedule, outbox, sending, video_links
from irev.services.link_schedule import Offset, ScheduleError, parse_schedule
from tests.factories import paris
from tests.registration_support import rows

S = RegistrationState
NOT_SEATED = (S.REQUESTED, S.PENDING_APPROVAL, S.WAITING, S.REJECTED, S.CANCELLED_BY_PERSON)


@pytest.fixture
def app_config(smtp_server):
    return smtp_server.app_config()


def texts(received) -> tuple[str, str]:
    """Return the plain text and HTML of a received message."""
    message = received.message
    return (
        message.get_body(preferencelist=("plain",)).get_content(),
        message.get_body(preferencelist=("html",)).get_content(),
    )


def calendar_of(received) -> icalendar.Calendar:
    """Return the parsed calendar attached to a received message."""
    [attachment] = list(received.message.iter_attachments())
    return icalendar.Calendar.from_ical(attachment.get_payload(decode=True))


def start_in(hours: float) -> datetime:
    return utcnow().replace(microsecond=0) + timedelta(hours=hours)


def told(registration, kind: str = "seated_to_registrant") -> None:
    """Record that a registrant was sent a message about the meeting (as it is now)."""
    outbox.enqueue(
        kind,
        registration.person.email,
        dedupe_key=f"registration:{registration.id}:{kind}:told",
        registration=registration,
    )
    db.session.flush()
    row = db.session.scalars(select(OutboundEmail).order_by(OutboundEmail.id.desc())).first()
    row.status = EmailStatus.SENT
    row.sent_at = utcnow()


# --- The schedule setting ---------------------------------------------------------------------


def day(days: int, hour: int, minute: int = 0) -> Offset:
    return Offset(days_before=days, at=time(hour, minute))


def before(**duration: int) -> Offset:
    return Offset(before=timedelta(**duration))


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("veille@10:00,1h", [day(1, 10), before(hours=1)]),
        (" Veille @ 9h30 , 30 min ", [day(1, 9, 30), before(minutes=30)]),
        ("J-2@18h", [day(2, 18)]),
        ("jour@08:00", [day(0, 8)]),
        ("1h30,2j,45m", [before(hours=1, minutes=30), before(days=2), before(minutes=45)]),
    ],
)
def test_schedule_syntax(setting, expected):
    assert parse_schedule(setting) == expected


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("", "vide"),
        ("veille@25:00", "Heure invalide"),
        ("veille@10:75", "Heure invalide"),
        ("demain", "illisible"),
        ("10", "illisible"),
        ("0h", "nulle"),
        ("1h,,lundi", "illisible"),
    ],
)
def test_unreadable_schedules_are_refused_in_french(setting, message):
    with pytest.raises(ScheduleError, match=message):
        parse_schedule(setting)


# --- Who gets the link, and when --------------------------------------------------------------


def test_only_seated_registrants_ever_receive_the_link(
    smtp_server, create_meeting, create_registration
):
    meeting = create_meeting(starts_at=start_in(0.5))  # both moments already past
    seated = create_registration(meeting)
    others = [create_registration(meeting, state=state) for state in NOT_SEATED]
    for registration in others:
        if registration.state is not S.REQUESTED:
            told(registration)
    db.session.commit()

    sending.run_pass()
    sending.run_pass()

    # several moments past: one message, not one per moment; and only to the seated person
    assert [r.to for r in smtp_server.received] == [seated.person.email]
    for registration in others:
        assert not any(
            row.kind == "video_link_to_registrant" or "link_version" in row.context
            for row in rows(registration_id=registration.id)
        )
    for received in smtp_server.received:
        body = received.raw.decode()
        assert meeting.video_url in texts(received)[0]
        assert received.to == seated.person.email or meeting.video_url not in body


def test_nothing_before_the_first_moment_then_the_day_before_then_one_hour_before(
    smtp_server, create_meeting, create_registration
):
    meeting = create_meeting(starts_at=paris(2031, 3, 5, 17))
    registration = create_registration(meeting)
    db.session.commit()

    with freeze_time(paris(2031, 3, 4, 9, 59)):
        assert sending.run_pass().queued == 0
    with freeze_time(paris(2031, 3, 4, 10, 0)):
        assert sending.run_pass().queued == 1
    with freeze_time(paris(2031, 3, 5, 15, 59)):
        assert sending.run_pass().queued == 0
    with freeze_time(paris(2031, 3, 5, 16, 0)):
        assert sending.run_pass().queued == 1
    with freeze_time(paris(2031, 3, 5, 16, 30)):
        assert sending.run_pass().queued == 0

    links = rows(registration_id=registration.id)
    assert [row.kind for row in links] == ["video_link_to_registrant"] * 2
    assert [row.status for row in links] == [EmailStatus.SENT] * 2
    assert len(smtp_server.to(registration.person.email)) == 2


@pytest.mark.parametrize(
    ("starts", "day_before_utc", "hour_before_utc"),
    [
        # Sunday 31 March 2024, clocks go forward at 02:00: the day before was still UTC+1
        (paris(2024, 3, 31, 17), datetime(2024, 3, 30, 9, 0, tzinfo=UTC),
         datetime(2024, 3, 31, 14, 0, tzinfo=UTC)),
        # Sunday 27 October 2024, clocks go back at 03:00: the day before was still UTC+2
        (paris(2024, 10, 27, 17), datetime(2024, 10, 26, 8, 0, tzinfo=UTC),
         datetime(2024, 10, 27, 15, 0, tzinfo=UTC)),
    ],
)  # fmt: skip
def test_reminder_times_across_the_change_of_hour(
    app, create_meeting, create_registration, starts, day_before_utc, hour_before_utc
):
    app.config["MAIL_SERVER"] = None  # capture: the clock is frozen, no network needed
    meeting = create_meeting(starts_at=starts)
    registration = create_registration(meeting)
    db.session.commit()
    moments = link_schedule.send_moments(meeting, link_schedule.configured_schedule())
    assert moments == [day_before_utc, hour_before_utc]

    with freeze_time(day_before_utc - timedelta(minutes=1)):
        assert sending.run_pass().queued == 0
    with freeze_time(day_before_utc):  # 10:00 on the Paris clock, the day before
        assert sending.run_pass().sending.captured == 1
    with freeze_time(hour_before_utc - timedelta(minutes=1)):
        assert sending.run_pass().queued == 0
    with freeze_time(hour_before_utc):
        assert sending.run_pass().sending.captured == 1

    first, second = rows(registration_id=registration.id)
    assert first.sent_at == day_before_utc and second.sent_at == hour_before_utc
    assert "à 17\u00a0h" in first.subject  # typeset: never « 17 | h »


def test_a_late_seat_gets_the_link_at_once(smtp_server, create_meeting, create_registration):
    meeting = create_meeting(starts_at=start_in(3))  # the day before has passed
    early = create_registration(meeting)
    waiting = create_registration(meeting, state=S.WAITING)
    db.session.commit()
    sending.run_pass()
    assert [r.to for r in smtp_server.received] == [early.person.email]

    waiting.move_to(S.SEATED)  # promoted from the waiting list
    meeting.seats_taken += 1
    db.session.commit()
    sending.run_pass()

    assert [r.to for r in smtp_server.received] == [early.person.email, waiting.person.email]
    text_part, _ = texts(smtp_server.received[1])
    assert meeting.video_url in text_part


def test_during_the_meeting_a_late_seat_still_gets_the_link_but_not_after_it(
    smtp_server, create_meeting, create_registration
):
    meeting = create_meeting(starts_at=start_in(-1))  # started an hour ago, ends in an hour
    during = create_registration(meeting)
    ended = create_meeting(starts_at=start_in(-3))
    too_late = create_registration(ended)
    db.session.commit()

    sending.run_pass()

    assert [r.to for r in smtp_server.received] == [during.person.email]
    assert rows(registration_id=too_late.id) == []


def test_a_seat_lost_before_sending_is_never_sent(smtp_server, create_meeting, create_registration):
    meeting = create_meeting(starts_at=start_in(3))
    registration = create_registration(meeting)
    db.session.commit()
    video_links.schedule_due()
    db.session.commit()
    registration.move_to(S.CANCELLED_BY_PERSON)  # cancels before the worker's turn
    meeting.seats_taken -= 1
    db.session.commit()

    report = sending.send_pending()

    assert report.skipped == 1 and report.sent == 0
    assert smtp_server.received == []
    [row] = rows()
    assert row.status is EmailStatus.SKIPPED and "plus de place" in row.last_error


def test_no_link_for_drafts_or_meetings_without_a_link(
    smtp_server, create_meeting, create_registration
):
    create_registration(create_meeting(starts_at=start_in(3), status=MeetingStatus.DRAFT))
    create_registration(create_meeting(starts_at=start_in(3), video_url=""))
    db.session.commit()
    assert sending.run_pass().queued == 0
    assert smtp_server.received == []


# --- Corrections ------------------------------------------------------------------------------


def test_a_link_changed_by_a_direct_database_update_sends_a_correction(
    smtp_server, create_meeting, create_registration
):
    meeting = create_meeting(starts_at=start_in(3))
    registrations = [create_registration(meeting) for _ in range(2)]
    db.session.commit()
    sending.run_pass()
    old_url = meeting.video_url

    db.session.execute(
        text("UPDATE meeting SET video_url = 'https://zoom.example/j/nouveau' WHERE id = :id"),
        {"id": meeting.id},
    )
    db.session.commit()
    sending.run_pass()
    sending.run_pass()

    assert len(smtp_server.received) == 4
    for registration in registrations:
        _first, correction = smtp_server.to(registration.person.email)
        assert (
            str(correction.message["Subject"])
            .replace("\u202f", " ")
            .startswith("Nouveau lien de connexion : ")
        )
        text_part, html_part = texts(correction)
        assert "Le lien de connexion a changé" in text_part
        assert "Le lien de connexion a changé" in html_part
        assert "déplacée" not in text_part  # the time stayed
        assert "https://zoom.example/j/nouveau" in text_part
        assert old_url not in text_part and old_url not in html_part
        assert "https://zoom.example/j/nouveau" in html_part
    kinds = [row.kind for row in rows(status=EmailStatus.SENT)]
    assert kinds.count("meeting_changed_to_registrant") == 2


def test_a_changed_time_after_sending_goes_to_every_active_registrant_with_a_higher_sequence(
    smtp_server, create_meeting, create_registration
):
    meeting = create_meeting(starts_at=start_in(3))
    seated = create_registration(meeting)
    waiting = create_registration(meeting, state=S.WAITING)
    pending = create_registration(meeting, state=S.PENDING_APPROVAL)
    requested = create_registration(meeting, state=S.REQUESTED)
    for registration in (waiting, pending):
        told(registration, "waiting_to_registrant")
    db.session.commit()
    sending.run_pass()
    [link] = smtp_server.received
    first_sequence = int(calendar_of(link).walk("VEVENT")[0]["SEQUENCE"])

    meeting.starts_at += timedelta(minutes=30)
    meeting.ends_at += timedelta(minutes=30)
    db.session.commit()
    sending.run_pass()
    sending.run_pass()

    assert sorted(r.to for r in smtp_server.received[1:]) == sorted(
        r.person.email for r in (seated, waiting, pending)
    )
    assert smtp_server.to(requested.person.email) == []
    old_start = meeting.starts_at - timedelta(minutes=30)
    for received in smtp_server.received[1:]:
        assert (
            str(received.message["Subject"]).replace("\u202f", " ").startswith("Nouvel horaire : ")
        )
        text_part, html_part = texts(received)
        for part in (text_part.replace("\xa0", " "), html_part.replace("\xa0", " ")):
            # Late in the day the moved meeting crosses midnight: the message then names
            # both periods in full (« … a désormais lieu du …, au lieu de … »).
            assert f"de {hour(old_start)} à {hour(meeting.starts_at)}" in part or (
                f"au lieu de {meeting_when(old_start, old_start + timedelta(hours=2))}" in part
            )
        assert "Le lien de connexion a changé" not in text_part
        has_link = meeting.video_url in text_part
        assert has_link is (received.to == seated.person.email)
        if received.to != seated.person.email:  # no seat: nothing goes into their agenda
            assert list(received.message.iter_attachments()) == []
            assert "Le fichier joint" not in text_part
            continue
        event = calendar_of(received).walk("VEVENT")[0]
        assert int(event["SEQUENCE"]) > first_sequence
        assert event["DTSTART"].dt == meeting.starts_at


def test_a_time_change_before_any_link_tells_those_told_the_old_time_once(
    smtp_server, create_meeting, create_registration
):
    meeting = create_meeting(starts_at=start_in(24 * 20))
    seated = create_registration(meeting)
    told(seated)
    quiet = create_registration(meeting, state=S.WAITING)  # never e-mailed: nothing to correct
    db.session.commit()

    meeting.starts_at += timedelta(days=1)
    meeting.ends_at += timedelta(days=1)
    db.session.commit()
    sending.run_pass()
    sending.run_pass()

    [received] = smtp_server.received
    assert received.to == seated.person.email
    assert meeting.video_url not in received.raw.decode()  # not due yet
    assert rows(registration_id=quiet.id) == []


def test_a_meeting_moved_later_after_the_link_is_corrected_at_once_then_sent_again_on_time(
    smtp_server, create_meeting, create_registration
):
    meeting = create_meeting(starts_at=start_in(3))
    registration = create_registration(meeting)
    db.session.commit()
    sending.run_pass()

    meeting.starts_at += timedelta(days=7)
    meeting.ends_at += timedelta(days=7)
    db.session.commit()
    sending.run_pass()
    sending.run_pass()

    _first, correction = smtp_server.to(registration.person.email)
    assert str(correction.message["Subject"]).replace("\u202f", " ").startswith("Nouvel horaire : ")
    old_start, old_end = meeting.starts_at - timedelta(days=7), meeting.ends_at - timedelta(days=7)
    old, new = meeting_when(old_start, old_end), meeting_when(meeting.starts_at, meeting.ends_at)
    # Late in the day the meeting crosses midnight: both periods are then named in full.
    moved = (
        f"a désormais lieu {new}, au lieu de {old}"
        if old.startswith("du ")
        else f"du {old} au {new}"
    )
    assert moved in texts(correction)[0].replace("\xa0", " ").replace("\u202f", " ")
    assert meeting.video_url in texts(correction)[0]
    with freeze_time(meeting.starts_at - timedelta(minutes=30)):
        queued = video_links.schedule_due().links
    assert queued == 1


def test_changing_back_to_earlier_details_is_a_new_correction(
    smtp_server, create_meeting, create_registration
):
    meeting = create_meeting(starts_at=start_in(3))
    registration = create_registration(meeting)
    db.session.commit()
    sending.run_pass()
    original = meeting.video_passcode
    for passcode in ("autre", original):
        meeting.video_passcode = passcode
        db.session.commit()
        sending.run_pass()

    messages = smtp_server.to(registration.person.email)
    assert len(messages) == 3
    assert f"code secret\u202f: {original}" in texts(messages[2])[0]


# --- Cancellation -----------------------------------------------------------------------------


def test_a_cancelled_meeting_tells_every_active_registrant_once_with_a_cancel_calendar(
    smtp_server, create_meeting, create_registration
):
    meeting = create_meeting(starts_at=start_in(3))
    active = [create_registration(meeting, state=state) for state in (S.SEATED, S.WAITING)]
    active.append(create_registration(meeting, state=S.PENDING_APPROVAL))
    gone = create_registration(meeting, state=S.CANCELLED_BY_PERSON)
    db.session.commit()
    video_links.schedule_due()  # a link is queued but not yet sent
    db.session.commit()

    meeting.status = MeetingStatus.CANCELLED
    db.session.commit()
    report = sending.run_pass()
    sending.run_pass()

    assert report.sending.skipped == 1  # the queued link is no longer true
    assert sorted(r.to for r in smtp_server.received) == sorted(r.person.email for r in active)
    assert smtp_server.to(gone.person.email) == []
    for received in smtp_server.received:
        assert "Séance annulée" in str(received.message["Subject"])
        assert meeting.video_url not in received.raw.decode()
        if received.to != active[0].person.email:  # never seated: no agenda entry to remove
            assert list(received.message.iter_attachments()) == []
            continue
        [attachment] = list(received.message.iter_attachments())
        assert attachment.get_param("method") == "CANCEL"
        calendar = calendar_of(received)
        assert calendar["METHOD"] == "CANCEL"
        [event] = calendar.walk("VEVENT")
        assert event["STATUS"] == "CANCELLED"
        assert int(event["SEQUENCE"]) == meeting.sequence
