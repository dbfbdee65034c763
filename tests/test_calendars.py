"""iCalendar output (RFC 5545), parsed back with the icalendar library."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from irev.calendars import VIDEO_LOCATION, meeting_calendar, meeting_uid
from irev.extensions import db
from irev.models import MeetingMode, MeetingStatus
from tests.factories import paris


def parse(body: bytes) -> Calendar:
    """Parse an iCalendar body, failing the test if it does not parse."""
    return Calendar.from_ical(body)


def events(calendar: Calendar) -> list:
    """Return the VEVENTs of a calendar."""
    return [component for component in calendar.walk("VEVENT")]


def only_event(body: bytes):
    """Return the single VEVENT of a calendar body."""
    found = events(parse(body))
    assert len(found) == 1
    return found[0]


def test_a_meeting_parses_back_with_every_required_property(create_meeting):
    meeting = create_meeting(
        title="Mixité sociale dans l’habitat : quels enjeux, quelles perspectives ?",
        starts_at=paris(2023, 3, 1, 17),
        ends_at=paris(2023, 3, 1, 19),
        description="Cette première séance permettra d’aborder un objectif majeur.",
        speakers=[{"name": "Christophe Noyé", "role": "Géographe", "organisation": "Cf. Géo"}],
        partners=["École du renouvellement urbain"],
    )
    calendar = parse(meeting_calendar([meeting]))
    assert calendar["VERSION"] == "2.0"
    assert "IREV" in str(calendar["PRODID"])
    assert calendar["METHOD"] == "PUBLISH"

    event = only_event(meeting_calendar([meeting]))
    assert str(event["UID"]) == f"meeting-{meeting.id}@irev.test"
    assert event["DTSTAMP"].dt.tzinfo is not None
    assert event["DTSTAMP"].dt.utcoffset() == timedelta(0)
    assert event.decoded("DTSTART") == paris(2023, 3, 1, 17)
    assert event.decoded("DTEND") == paris(2023, 3, 1, 19)
    assert str(event["SUMMARY"]) == (
        "Rencontre des élus – Mixité sociale dans l’habitat : quels enjeux, quelles perspectives ?"
    )
    description = str(event["DESCRIPTION"])
    assert "objectif majeur" in description
    assert "Christophe Noyé (géographe, Cf. Géo)" in description
    assert "École du renouvellement urbain" in description
    assert f"http://irev.test/seances/{meeting.slug}" in description
    assert str(event["URL"]) == f"http://irev.test/seances/{meeting.slug}"
    assert str(event["LOCATION"]) == VIDEO_LOCATION
    assert event["STATUS"] == "CONFIRMED"
    assert int(event["SEQUENCE"]) == 0
    # The From address of the e-mails (a CANCEL counts only when it comes from the organizer).
    assert str(event["ORGANIZER"]) == "mailto:rencontres-elus@irev.fr"
    assert event["ORGANIZER"].params["CN"] == "IREV – Rencontres des élus"


def test_times_carry_the_paris_tzid_with_a_matching_vtimezone(create_meeting):
    meeting = create_meeting(starts_at=paris(2023, 3, 1, 17), ends_at=paris(2023, 3, 1, 19))
    body = meeting_calendar([meeting])
    assert b"DTSTART;TZID=Europe/Paris:20230301T170000" in body
    assert b"DTEND;TZID=Europe/Paris:20230301T190000" in body
    timezones = parse(body).walk("VTIMEZONE")
    assert [str(tz["TZID"]) for tz in timezones] == ["Europe/Paris"]
    offsets = {
        (sub.name, str(sub["TZOFFSETFROM"].to_ical()), str(sub["TZOFFSETTO"].to_ical()))
        for sub in timezones[0].subcomponents
    }
    assert ("DAYLIGHT", "+0100", "+0200") in offsets
    assert ("STANDARD", "+0200", "+0100") in offsets
    # The VTIMEZONE itself (not only the TZID name) gives the right offsets around the meeting.
    described = timezones[0].to_tz()
    assert datetime(2023, 3, 1, 17, tzinfo=described).utcoffset() == timedelta(hours=1)
    assert datetime(2023, 7, 5, 17, tzinfo=described).utcoffset() == timedelta(hours=2)


def test_the_vtimezone_is_the_yearly_rule_form_every_client_reads(create_meeting):
    # One DAYLIGHT and one STANDARD, each a yearly rule, as the tz database publishes
    # Europe/Paris: no RDATE list (ical.js and vobject read only its first date), and the
    # March change at 02:00 local time.
    body = meeting_calendar([create_meeting()]).decode()
    [timezone] = parse(body.encode()).walk("VTIMEZONE")
    observances = {sub.name: sub for sub in timezone.subcomponents}
    assert sorted(observances) == ["DAYLIGHT", "STANDARD"]
    assert "RDATE" not in body
    expected = {
        "DAYLIGHT": ("19700329T020000", "+0100", "+0200", "FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3"),
        "STANDARD": ("19701025T030000", "+0200", "+0100", "FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10"),
    }
    for name, (start, offset_from, offset_to, rule) in expected.items():
        sub = observances[name]
        assert sub["DTSTART"].to_ical().decode() == start
        assert "TZID" not in sub["DTSTART"].params  # local time, as RFC 5545 asks
        assert str(sub["TZOFFSETFROM"].to_ical()) == offset_from
        assert str(sub["TZOFFSETTO"].to_ical()) == offset_to
        assert sub["RRULE"].to_ical().decode() == rule


def test_one_vtimezone_for_many_meetings(create_programme, create_meeting):
    programme = create_programme()
    meetings = [
        create_meeting(programme=programme, starts_at=paris(2023, month, 1, 17))
        for month in (3, 4, 5)
    ]
    calendar = parse(meeting_calendar(meetings))
    assert len(calendar.walk("VTIMEZONE")) == 1
    assert len(events(calendar)) == 3


@pytest.mark.parametrize(
    ("starts_at", "ends_at", "utc_start", "utc_end", "local_start", "local_end"),
    [
        # Winter time, the Wednesday before the last Sunday of March 2023 (26 March).
        (
            paris(2023, 3, 22, 17),
            paris(2023, 3, 22, 19),
            datetime(2023, 3, 22, 16, tzinfo=UTC),
            datetime(2023, 3, 22, 18, tzinfo=UTC),
            b"20230322T170000",
            b"20230322T190000",
        ),
        # Summer time, the Wednesday after it: the same wall-clock time, one hour earlier in UTC.
        (
            paris(2023, 3, 29, 17),
            paris(2023, 3, 29, 19),
            datetime(2023, 3, 29, 15, tzinfo=UTC),
            datetime(2023, 3, 29, 17, tzinfo=UTC),
            b"20230329T170000",
            b"20230329T190000",
        ),
        # Across the change itself: 23:00 winter time to 04:00 summer time is four hours.
        (
            paris(2023, 3, 25, 23),
            paris(2023, 3, 26, 4),
            datetime(2023, 3, 25, 22, tzinfo=UTC),
            datetime(2023, 3, 26, 2, tzinfo=UTC),
            b"20230325T230000",
            b"20230326T040000",
        ),
        # October: summer time before the last Sunday (29 October 2023), winter time after.
        (
            paris(2023, 10, 25, 17),
            paris(2023, 10, 25, 19),
            datetime(2023, 10, 25, 15, tzinfo=UTC),
            datetime(2023, 10, 25, 17, tzinfo=UTC),
            b"20231025T170000",
            b"20231025T190000",
        ),
        (
            paris(2023, 11, 8, 17),
            paris(2023, 11, 8, 19),
            datetime(2023, 11, 8, 16, tzinfo=UTC),
            datetime(2023, 11, 8, 18, tzinfo=UTC),
            b"20231108T170000",
            b"20231108T190000",
        ),
        # Across the October change: 22:00 summer time to 04:00 winter time is seven hours.
        (
            paris(2023, 10, 28, 22),
            paris(2023, 10, 29, 4),
            datetime(2023, 10, 28, 20, tzinfo=UTC),
            datetime(2023, 10, 29, 3, tzinfo=UTC),
            b"20231028T220000",
            b"20231029T040000",
        ),
    ],
    ids=["march-before", "march-after", "march-across", "october-before", "november", "oct-across"],
)
def test_daylight_saving_changes_keep_the_right_instant(
    create_meeting, starts_at, ends_at, utc_start, utc_end, local_start, local_end
):
    meeting = create_meeting(starts_at=starts_at, ends_at=ends_at)
    body = meeting_calendar([meeting])
    assert b"DTSTART;TZID=Europe/Paris:" + local_start in body
    assert b"DTEND;TZID=Europe/Paris:" + local_end in body
    event = only_event(body)
    assert event.decoded("DTSTART").astimezone(UTC) == utc_start
    assert event.decoded("DTEND").astimezone(UTC) == utc_end
    assert event["DTSTART"].params["TZID"] == "Europe/Paris"


def test_uid_is_stable_and_sequence_rises_when_the_meeting_changes(create_meeting):
    meeting = create_meeting(starts_at=paris(2023, 4, 5, 17), ends_at=paris(2023, 4, 5, 19))
    db.session.commit()
    first = only_event(meeting_calendar([meeting]))

    meeting.starts_at = paris(2023, 4, 5, 18)
    meeting.ends_at = paris(2023, 4, 5, 20)
    db.session.commit()
    second = only_event(meeting_calendar([meeting]))

    meeting.title = "Transitions et quartiers politique de la ville"
    db.session.commit()
    third = only_event(meeting_calendar([meeting]))

    assert str(first["UID"]) == str(second["UID"]) == str(third["UID"]) == meeting_uid(meeting)
    assert int(first["SEQUENCE"]) < int(second["SEQUENCE"]) < int(third["SEQUENCE"])
    assert second.decoded("DTSTART") == paris(2023, 4, 5, 18)
    assert "Transitions et quartiers" in str(third["SUMMARY"])


def test_a_seat_taken_does_not_raise_the_sequence(create_meeting, create_registration):
    meeting = create_meeting()
    db.session.commit()
    before = int(only_event(meeting_calendar([meeting]))["SEQUENCE"])
    create_registration(meeting=meeting)
    db.session.commit()
    assert int(only_event(meeting_calendar([meeting]))["SEQUENCE"]) == before


def test_uid_uses_the_host_of_the_public_address(app, create_meeting):
    app.config["IREV_BASE_URL"] = "https://rencontres.irev.fr"
    meeting = create_meeting()
    assert meeting_uid(meeting) == f"meeting-{meeting.id}@rencontres.irev.fr"
    event = only_event(meeting_calendar([meeting]))
    assert str(event["URL"]) == f"https://rencontres.irev.fr/seances/{meeting.slug}"


def test_never_the_video_link_id_or_passcode(create_meeting):
    meeting = create_meeting(
        video_url="https://zoom.example/j/98765432100?pwd=secret",
        video_meeting_id="987 6543 2100",
        video_passcode="Xy7secret",
    )
    body = meeting_calendar([meeting])
    unfolded = body.replace(b"\r\n ", b"")
    for secret in (b"zoom.example", b"98765432100", b"987 6543 2100", b"Xy7secret", b"pwd="):
        assert secret not in unfolded
    cancel = meeting_calendar([meeting], method="CANCEL").replace(b"\r\n ", b"")
    assert b"zoom.example" not in cancel and b"Xy7secret" not in cancel


def test_a_meeting_on_site_gives_its_address(create_meeting):
    meeting = create_meeting(mode=MeetingMode.ON_SITE, address="Hôtel de région, Lille")
    assert str(only_event(meeting_calendar([meeting]))["LOCATION"]) == "Hôtel de région, Lille"


def test_a_cancelled_meeting_is_marked_cancelled(create_meeting):
    meeting = create_meeting()
    db.session.commit()
    meeting.status = MeetingStatus.CANCELLED
    db.session.commit()
    event = only_event(meeting_calendar([meeting]))
    assert event["STATUS"] == "CANCELLED"
    assert str(event["SUMMARY"]).startswith("ANNULÉE")
    assert int(event["SEQUENCE"]) >= 1


def test_method_cancel_keeps_the_uid_and_cancels(create_meeting):
    meeting = create_meeting()
    body = meeting_calendar([meeting], method="CANCEL")
    calendar = parse(body)
    assert calendar["METHOD"] == "CANCEL"
    event = events(calendar)[0]
    assert str(event["UID"]) == meeting_uid(meeting)
    assert event["STATUS"] == "CANCELLED"


def test_unknown_method_is_refused(create_meeting):
    with pytest.raises(ValueError):
        meeting_calendar([create_meeting()], method="REQUEST")


def test_a_topic_not_announced_says_so(create_meeting):
    meeting = create_meeting(title="Thème à venir", topic_announced=False)
    event = only_event(meeting_calendar([meeting]))
    assert str(event["SUMMARY"]) == "Rencontre des élus – thème à venir"
    assert "sera annoncé" in str(event["DESCRIPTION"])


def test_lines_are_crlf_and_folded_at_75_octets(create_meeting):
    meeting = create_meeting(description="Une très longue description accentuée. " * 20)
    body = meeting_calendar([meeting])
    lines = body.split(b"\r\n")
    assert body.endswith(b"\r\n")
    assert b"\n" not in body.replace(b"\r\n", b"")
    assert all(len(line) <= 75 for line in lines)


# --- The routes -------------------------------------------------------------------------------


def test_programme_calendar_holds_public_meetings_of_the_current_programme(
    client, create_programme, create_meeting
):
    programme = create_programme(year=2023)
    published = create_meeting(programme=programme, starts_at=paris(2023, 3, 1, 17))
    cancelled = create_meeting(
        programme=programme, starts_at=paris(2023, 4, 5, 17), status=MeetingStatus.CANCELLED
    )
    draft = create_meeting(
        programme=programme, starts_at=paris(2023, 5, 3, 17), status=MeetingStatus.DRAFT
    )
    older = create_meeting(programme=create_programme(year=2022))
    db.session.commit()

    response = client.get("/calendrier.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8; method=PUBLISH"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert ".ics" in response.headers["Content-Disposition"]
    calendar = parse(response.data)
    assert calendar["METHOD"] == "PUBLISH"
    assert str(calendar["X-WR-CALNAME"]) == "Rencontres des élus – IREV"
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT12H" in response.data
    uids = {str(event["UID"]): event for event in events(calendar)}
    assert set(uids) == {meeting_uid(published), meeting_uid(cancelled)}
    assert uids[meeting_uid(cancelled)]["STATUS"] == "CANCELLED"
    assert meeting_uid(draft) not in uids and meeting_uid(older) not in uids


def test_meeting_calendar_route(client, create_meeting):
    meeting = create_meeting(starts_at=paris(2023, 3, 1, 17), ends_at=paris(2023, 3, 1, 19))
    db.session.commit()
    response = client.get(f"/seances/{meeting.slug}.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert "method=PUBLISH" in response.headers["Content-Type"]
    assert f'filename="{meeting.slug}.ics"' in response.headers["Content-Disposition"]
    event = only_event(response.data)
    assert str(event["UID"]) == meeting_uid(meeting)
    assert meeting.video_url.encode() not in response.data


def test_calendar_routes_answer_404_for_drafts_and_unknown_meetings(client, create_meeting):
    draft = create_meeting(status=MeetingStatus.DRAFT)
    db.session.commit()
    assert client.get(f"/seances/{draft.slug}.ics").status_code == 404
    assert client.get("/seances/inconnue.ics").status_code == 404


def test_programme_calendar_without_a_programme_is_404(client):
    assert client.get("/calendrier.ics").status_code == 404


def test_public_calendars_never_carry_the_video_link(client, create_programme, create_meeting):
    programme = create_programme(year=2100)
    meeting = create_meeting(
        programme=programme,
        video_url="https://zoom.example/j/98765432100?pwd=secret",
        video_meeting_id="987 6543 2100",
        video_passcode="Xy7secret",
    )
    db.session.commit()
    for path in ("/calendrier.ics", f"/seances/{meeting.slug}.ics"):
        response = client.get(path)
        assert response.status_code == 200
        unfolded = response.data.replace(b"\r\n ", b"")
        for secret in (b"zoom.example", b"98765432100", b"987 6543 2100", b"Xy7secret"):
            assert secret not in unfolded, path
        assert str(only_event(response.data)["LOCATION"]) == VIDEO_LOCATION


def test_a_seated_copy_carries_the_link_and_a_personal_cancel_outranks_it(create_meeting):
    meeting = create_meeting(video_passcode="Xy7secret")
    video = {"url": meeting.video_url, "meeting_id": "987 6543 2100", "passcode": "Xy7secret"}
    own = only_event(meeting_calendar([meeting], video=video))
    assert str(own["LOCATION"]) == meeting.video_url
    assert meeting.video_url in str(own["DESCRIPTION"]) and "Xy7secret" in str(own["DESCRIPTION"])
    assert str(own["URL"]).endswith(f"/seances/{meeting.slug}")
    cancel = only_event(
        meeting_calendar([meeting], method="CANCEL", sequence_offset=1, video=video)
    )
    assert int(cancel["SEQUENCE"]) == int(own["SEQUENCE"]) + 1
    assert cancel["STATUS"] == "CANCELLED" and str(cancel["UID"]) == str(own["UID"])
    assert b"Xy7secret" not in meeting_calendar([meeting], method="CANCEL", video=video)


@pytest.mark.parametrize("feed", ["programme", "meeting"])
def test_calendar_feeds_answer_conditional_requests_with_304(
    client, create_programme, create_meeting, feed
):
    programme = create_programme()
    meeting = create_meeting(programme=programme)
    db.session.commit()
    path = "/calendrier.ics" if feed == "programme" else f"/seances/{meeting.slug}.ics"

    first = client.get(path)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert etag.startswith('"') and first.headers["Last-Modified"]
    cache_control = first.headers["Cache-Control"]
    assert "public" in cache_control and "max-age=300" in cache_control

    # a client polling again: the same tag (DTSTAMP aside), nothing to download
    again = client.get(path)
    assert again.headers["ETag"] == etag
    unchanged = client.get(path, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.data == b""
    assert unchanged.headers["ETag"] == etag
    since = client.get(path, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status_code == 304 and since.data == b""

    # the meeting changes: the same request gets the new file and a new tag
    meeting.title = "Un titre changé"
    db.session.commit()
    changed = client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and b"Un titre chang" in changed.data
    assert changed.headers["ETag"] != etag
