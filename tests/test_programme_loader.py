"""The shipped programme file, the loader's idempotency, the demo, and the CLI commands."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from irev.dates import PARIS
from irev.extensions import db
from irev.models import ApprovalMode, Meeting, MeetingMode, MeetingStatus, Programme, utcnow
from irev.services import programmes
from tests.factories import paris

SLUG = "rencontres-elus-2023"
FIRST = "rencontre-1-mixite-sociale-habitat"


def load_shipped(**kwargs) -> Programme:
    """Load the programme file shipped with the site and commit."""
    programme = programmes.load_programme(
        programmes.read_programme_file(programmes.DEFAULT_FILE), **kwargs
    )
    db.session.commit()
    return programme


def count(model) -> int:
    """Return the number of rows of a model."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def snapshot() -> dict[str, tuple]:
    """Return what a reload must not change: every meeting's times, sequence, updated_at."""
    db.session.expire_all()
    return {
        m.slug: (m.starts_at, m.ends_at, m.title, m.sequence, m.updated_at, m.capacity)
        for m in db.session.scalars(sa.select(Meeting))
    } | {
        f"programme:{p.slug}": (p.updated_at, p.is_demo, p.title)
        for p in db.session.scalars(sa.select(Programme))
    }


# --- the shipped file ----------------------------------------------------------------------


def test_the_shipped_file_gives_the_five_dated_meetings_on_wednesdays_17_to_19(app):
    programme = load_shipped()
    meetings = programme.meetings
    assert [m.starts_at.astimezone(PARIS).date() for m in meetings] == [
        dt.date(2023, 3, 1),
        dt.date(2023, 4, 5),
        dt.date(2023, 5, 3),
        dt.date(2023, 6, 7),
        dt.date(2023, 7, 5),
    ]
    for meeting in meetings:
        assert meeting.starts_at.astimezone(PARIS).weekday() == 2  # Wednesday
        assert meeting.starts_at.astimezone(PARIS).time() == dt.time(17, 0)
        assert meeting.ends_at.astimezone(PARIS).time() == dt.time(19, 0)
        assert meeting.mode is MeetingMode.VIDEO
        assert meeting.status is MeetingStatus.PUBLISHED
        assert meeting.approval_mode is ApprovalMode.AUTOMATIC
    # Stored in UTC: 1 March is winter time (UTC+1), 5 April already summer time (UTC+2).
    assert meetings[0].starts_at == dt.datetime(2023, 3, 1, 16, 0, tzinfo=dt.UTC)
    assert meetings[1].starts_at == dt.datetime(2023, 4, 5, 15, 0, tzinfo=dt.UTC)
    assert meetings[0].starts_at.utcoffset() == dt.timedelta(0)


def test_the_first_meeting_has_its_topic_speaker_and_partner(app):
    load_shipped()
    first = db.session.scalar(sa.select(Meeting).filter_by(slug=FIRST))
    assert first.title == "Mixité sociale dans l’habitat : quels enjeux, quelles perspectives ?"
    assert first.topic_announced is True
    assert first.speakers == [
        {"name": "Christophe Noyé", "role": "Géographe", "organisation": "Cf. Géo"}
    ]
    assert first.partners == ["École du renouvellement urbain"]
    assert "9 mars à Lille" in first.description


def test_meetings_without_a_topic_say_so_and_the_other_topics_are_planned(app):
    programme = load_shipped()
    later = programme.meetings[1:]
    assert [m.title for m in later] == [programmes.TOPIC_TO_COME] * 4
    assert not any(m.topic_announced for m in later)
    assert programme.planned_topics == [
        "Mixité scolaire : quels enjeux, quelles perspectives ?",
        "Transitions et quartiers politique de la ville",
        "Les enjeux éducatifs au cœur des futurs contrats",
        "Prévenir les discriminations, un enjeu systémique qui appelle des réponses tangibles",
        "Co-construire les contrats de ville en 2023 : quels leviers ?",
    ]


def test_the_programme_has_its_audience_format_lille_event_and_contact(app):
    programme = load_shipped()
    assert programme.year == 2023
    assert programme.published is True
    assert programme.is_demo is False
    assert "contrats de ville 2024-2030" in programme.title
    assert "contrats de ville 2024-2030" in programme.introduction
    assert "élus locaux" in programme.audience.lower()
    assert "mercredi, de 17 h à 19 h" in programme.format_line
    assert "en visio" in programme.format_line
    [event] = programme.related_events
    assert event["date"] == "2023-03-09"
    assert event["place"] == "Lille"
    assert "Mixité(s) sociale(s)" in event["title"]
    assert (programme.contact_name, programme.contact_role) == ("Morgane Petit", "Directrice")
    assert programme.contact_email == "m.petit@irev.fr"
    assert programme.contact_phone == "06 07 75 84 23"


def test_no_video_link_comes_from_the_file(app):
    """The document gives no Zoom link: the real programme must not invent one."""
    for meeting in load_shipped().meetings:
        assert meeting.video_url == ""


# --- idempotency ---------------------------------------------------------------------------


def test_loading_twice_changes_nothing(app):
    load_shipped()
    before = snapshot()
    load_shipped()
    assert count(Programme) == 1
    assert count(Meeting) == 5
    assert snapshot() == before
    assert {m.sequence for m in db.session.scalars(sa.select(Meeting))} == {0}


def test_reloading_a_changed_file_updates_in_place_and_raises_the_sequence(app, tmp_path):
    load_shipped()
    text = programmes.DEFAULT_FILE.read_text(encoding="utf-8")
    changed = tmp_path / "programme.yaml"
    changed.write_text(text.replace("date: 2023-04-05", "date: 2023-04-12"), encoding="utf-8")
    programmes.load_programme(programmes.read_programme_file(changed))
    db.session.commit()
    assert count(Meeting) == 5
    second = db.session.scalar(sa.select(Meeting).filter_by(slug="rencontre-2"))
    assert second.starts_at == paris(2023, 4, 12, 17)
    assert second.sequence == 1
    first = db.session.scalar(sa.select(Meeting).filter_by(slug=FIRST))
    assert first.sequence == 0


def test_reloading_keeps_seats_taken_and_capacity_set_by_staff(app):
    load_shipped()
    first = db.session.scalar(sa.select(Meeting).filter_by(slug=FIRST))
    first.capacity, first.seats_taken = 40, 12
    db.session.commit()
    load_shipped()
    db.session.expire_all()
    first = db.session.scalar(sa.select(Meeting).filter_by(slug=FIRST))
    assert (first.capacity, first.seats_taken) == (40, 12)


# --- the demo ------------------------------------------------------------------------------


def test_the_demo_moves_the_meetings_to_the_coming_first_wednesdays(app):
    programme = load_shipped(demo=True, today=dt.date(2026, 11, 27))
    assert programme.is_demo is True
    days = [m.starts_at.astimezone(PARIS).date() for m in programme.meetings]
    assert days == [
        dt.date(2026, 12, 2),
        dt.date(2027, 1, 6),
        dt.date(2027, 2, 3),
        dt.date(2027, 3, 3),
        dt.date(2027, 4, 7),
    ]
    for meeting in programme.meetings:
        paris_start = meeting.starts_at.astimezone(PARIS)
        assert paris_start.weekday() == 2 and paris_start.day <= 7
        assert paris_start.time() == dt.time(17, 0)
        assert meeting.ends_at.astimezone(PARIS).time() == dt.time(19, 0)
    # Topics, speakers and partners stay those of the document.
    assert programme.meetings[0].speakers[0]["name"] == "Christophe Noyé"


def test_the_demo_opens_registration(app):
    programme = load_shipped(demo=True)
    now = utcnow()
    for meeting in programme.meetings:
        assert meeting.starts_at > now
        assert meeting.registration_open(now), meeting.slug
        assert meeting.video_url == programmes.DEMO_VIDEO_URL


def test_the_first_wednesday_of_today_is_skipped_when_it_is_today(app):
    programme = load_shipped(demo=True, today=dt.date(2026, 12, 2))
    assert programme.meetings[0].starts_at.astimezone(PARIS).date() == dt.date(2027, 1, 6)


def test_running_the_demo_again_moves_and_duplicates_nothing(app):
    load_shipped(demo=True, today=dt.date(2026, 11, 27))
    before = snapshot()
    load_shipped(demo=True, today=dt.date(2027, 2, 10))  # even a month later
    assert count(Programme) == 1
    assert count(Meeting) == 5
    assert snapshot() == before


def test_the_demo_after_a_real_load_moves_the_meetings(app):
    load_shipped()
    programme = load_shipped(demo=True, today=dt.date(2026, 11, 27))
    assert programme.is_demo is True
    assert count(Meeting) == 5
    assert programme.meetings[0].starts_at == paris(2026, 12, 2, 17)
    assert all(m.registration_open() for m in programme.meetings)


def test_is_demo_site_and_current_programme(app):
    assert programmes.get_current_programme() is None
    assert programmes.is_demo_site() is False
    load_shipped(demo=True)
    assert programmes.get_current_programme().slug == SLUG
    assert programmes.is_demo_site() is True


# --- the commands --------------------------------------------------------------------------


def test_programme_load_command(app, runner):
    result = runner.invoke(args=["programme", "load", str(programmes.DEFAULT_FILE)])
    assert result.exit_code == 0, result.output
    assert "5 séances" in result.output
    assert count(Meeting) == 5
    assert db.session.scalar(sa.select(Programme)).is_demo is False
    before = snapshot()
    result = runner.invoke(args=["programme", "load", str(programmes.DEFAULT_FILE)])
    assert result.exit_code == 0, result.output
    assert snapshot() == before


def test_programme_demo_command(app, runner):
    result = runner.invoke(args=["programme", "demo"])
    assert result.exit_code == 0, result.output
    assert "démonstration" in result.output
    programme = db.session.scalar(sa.select(Programme))
    assert programme.is_demo is True
    assert all(m.registration_open() for m in programme.meetings)
    before = snapshot()
    assert runner.invoke(args=["programme", "demo"]).exit_code == 0
    assert count(Meeting) == 5
    assert snapshot() == before


HEAD = "slug: x\ntitle: T\nyear: 2023\nmeetings:\n"
GOOD_MEETING = HEAD + '  - slug: s1\n    date: 2023-03-01\n    start: "17:00"\n    end: "19:00"\n'

MALFORMED = [
    ("fichier absent", None, "fichier introuvable"),
    ("YAML cassé", "slug: x\ntitle: [unclosed\n", "n’est pas un YAML valide (ligne"),
    ("pas une table", "- a\n- b\n", "ne décrit pas un programme"),
    ("clé manquante", "slug: x\ntitle: T\nmeetings: []\n", "la clé « year » manque"),
    ("année invalide", "slug: x\ntitle: T\nyear: deux\nmeetings: []\n", "doit être une année"),
    ("séances pas en liste", "slug: x\ntitle: T\nyear: 2023\nmeetings: 3\n", "liste de séances"),
    ("séance sans date", HEAD + "  - slug: s1\n", "« slug » et « date »"),
    ("date impossible", GOOD_MEETING.replace("2023-03-01", "2023-13-45"), "date impossible"),
    ("date invalide", GOOD_MEETING.replace("2023-03-01", "le 1er mars"), "date invalide"),
    ("heure invalide", GOOD_MEETING.replace('"17:00"', '"17h"'), "heure invalide « 17h »"),
    ("heure non citée", GOOD_MEETING.replace('"17:00"', "17:00"), "heure invalide"),
    ("fin avant début", GOOD_MEETING.replace('"19:00"', '"16:00"'), "doit suivre le début"),
    ("mode inconnu", GOOD_MEETING + "    mode: teleport\n", "valeurs possibles : video"),
    ("places invalides", GOOD_MEETING + "    capacity: -3\n", "nombre de places"),
    ("séance en double", GOOD_MEETING + GOOD_MEETING[len(HEAD) :], "séances en double : s1"),
    ("défauts pas en table", "meeting_defaults: [1]\n" + GOOD_MEETING, "doit être une table"),
    (
        "heure par défaut invalide",
        'meeting_defaults: {start: "25:00"}\n' + GOOD_MEETING,
        "« meeting_defaults » : heure invalide « 25:00 »",
    ),
    (
        "validation par défaut inconnue",
        "meeting_defaults: {approval: parfois}\n" + GOOD_MEETING,
        "valeurs possibles : automatic, moderated",
    ),
    (
        "places par défaut invalides",
        "meeting_defaults: {capacity: beaucoup}\n" + GOOD_MEETING,
        "« capacity » doit être un nombre de places",
    ),
]


@pytest.mark.parametrize(
    ("content", "message"), [(c, m) for _, c, m in MALFORMED], ids=[n for n, _, _ in MALFORMED]
)
def test_a_malformed_file_gives_a_clear_french_error(app, runner, tmp_path, content, message):
    path = tmp_path / "programme.yaml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = runner.invoke(args=["programme", "load", str(path)])
    assert result.exit_code != 0
    assert result.output.startswith("Erreur : "), result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, programmes.ProgrammeFileError | KeyError | TypeError)
    db.session.rollback()
    assert count(Programme) == 0, "nothing may be half-saved"
    assert count(Meeting) == 0


def test_the_file_meeting_defaults_become_the_cycle_defaults(app, tmp_path):
    from datetime import time

    from irev.models import ApprovalMode

    text = 'meeting_defaults: {start: "18:30", end: "20:00", capacity: 40, approval: moderated}\n'
    path = tmp_path / "programme.yaml"
    path.write_text(text + GOOD_MEETING, encoding="utf-8")
    programme = programmes.load_programme(programmes.read_programme_file(path))
    assert (programme.default_start, programme.default_end) == (time(18, 30), time(20))
    assert programme.default_capacity == 40
    assert programme.default_approval_mode is ApprovalMode.MODERATED
    # The file's meetings take them too, as before.
    assert programme.meetings[0].capacity == 40
