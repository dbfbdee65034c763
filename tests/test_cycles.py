"""Cycles from the staff area and the public archive: create, edit, duplicate onto the next
semester's Wednesdays, publish and unpublish, past cycles at their addresses, meeting defaults,
the demo's texts on its moved dates, and bad input answered in French."""

from __future__ import annotations

import re
from datetime import date, time

import pytest

from irev.extensions import db
from irev.models import ApprovalMode, AuditEvent, Meeting, MeetingStatus, Programme
from irev.services import cycles, programmes
from irev.services.cycles import CycleError
from tests.factories import paris


def _events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(db.select(AuditEvent).filter_by(action=action)))


def _cycle_form(**changes) -> dict:
    """Return a complete, valid cycle form."""
    data = {
        "title": "Rencontres des élus : la rénovation urbaine",
        "year": "2027",
        "audience": "Élus locaux",
        "format_line": "Un rendez-vous par mois, en visio, le mercredi, de 17 h à 19 h.",
        "introduction": "Premier paragraphe.\n\nSecond paragraphe.",
        "planned_topics": "Thème A\n\nThème B",
        "related_events": "09/03/2027 ; Journée régionale ; Lille ; Une première approche.",
        "contact_name": "Morgane Petit",
        "contact_role": "Directrice",
        "contact_email": "m.petit@irev.fr",
        "contact_phone": "06 07 75 84 23",
        "default_start": "18:00",
        "default_end": "20:00",
        "default_capacity": "60",
        "default_approval_mode": "moderated",
        "retention_months": "12",
    }
    data.update(changes)
    return data


def _spring_cycle(create_programme, create_meeting) -> Programme:
    """Return a published 2027 cycle of three meetings (March to May), one with a topic."""
    source = create_programme(title="Cycle du printemps 2027", year=2027, slug="printemps-2027")
    create_meeting(
        programme=source,
        title="Mixité sociale",
        description="Une présentation.",
        speakers=[{"name": "Camille Durand", "role": "", "organisation": ""}],
        starts_at=paris(2027, 3, 3, 17),
        approval_mode=ApprovalMode.MODERATED,
        capacity=80,
    )
    create_meeting(programme=source, starts_at=paris(2027, 4, 7, 18))
    create_meeting(programme=source, starts_at=paris(2027, 5, 5, 17))
    db.session.commit()
    return source


def test_create_a_cycle_unpublished_with_its_texts_and_defaults(staff_client):
    page = staff_client.get("/admin/cycles/nouveau").get_data(as_text=True)
    assert 'value="17:00"' in page and 'value="100"' in page
    response = staff_client.post("/admin/cycles/nouveau", data=_cycle_form())
    assert response.status_code == 303
    programme = db.session.scalar(db.select(Programme))
    assert programme.published is False
    assert programme.slug == "rencontres-des-elus-la-renovation-urbaine-2027"
    assert programme.planned_topics == ["Thème A", "Thème B"]
    assert programme.related_events == [
        {
            "title": "Journée régionale",
            "date": "2027-03-09",
            "place": "Lille",
            "description": "Une première approche.",
        }
    ]
    assert (programme.default_start, programme.default_end) == (time(18), time(20))
    assert programme.default_capacity == 60
    assert programme.default_approval_mode is ApprovalMode.MODERATED
    [event] = _events("cycle.create")
    assert event.after["default_start"] == "18:00:00"
    # Not on the site until published.
    assert staff_client.get(f"/cycles/{programme.slug}").status_code == 404


def test_edit_every_text_of_the_public_page(staff_client, create_programme):
    programme = create_programme()
    db.session.commit()
    page = staff_client.get(f"/admin/programme?id={programme.id}").get_data(as_text=True)
    assert "Valeurs proposées pour une nouvelle séance" in page
    response = staff_client.post(
        f"/admin/programme?id={programme.id}",
        data=_cycle_form(title="Nouveau titre", related_events="2027-06-10 ; Forum ; Arras"),
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert programme.title == "Nouveau titre"
    assert programme.year == 2027
    assert programme.related_events[0]["date"] == "2027-06-10"
    [event] = _events("programme.update")
    assert event.before["title"].startswith("Programme de test")
    assert event.after["default_capacity"] == 60
    # The public page shows what was saved.
    html = staff_client.get("/").get_data(as_text=True)
    assert "Nouveau titre" in html and "Forum" in html and "Second paragraphe." in html


def test_a_title_typed_on_several_lines_is_kept_on_one(staff_client, create_programme):
    programme = create_programme()
    db.session.commit()
    title = "Un titre très long " * 10
    response = staff_client.post(
        f"/admin/programme?id={programme.id}",
        data=_cycle_form(title=title.replace(" très", "\r\ntrès")[:200]),
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert "\n" not in programme.title and programme.title.startswith("Un titre très long Un")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"year": ""}, "Saisissez l&#39;année du cycle"),
        ({"year": "99999"}, "Saisissez une année entre 2000 et 2100."),
        ({"default_start": "25:00"}, "Saisissez une heure valide"),
        ({"default_end": "16:00"}, "L&#39;heure de fin habituelle doit être après"),
        ({"default_capacity": "-1"}, "Saisissez un nombre de places entre 0 et 10 000."),
        ({"default_approval_mode": "maybe"}, "Choisissez le mode de validation habituel."),
        ({"related_events": "demain ; Forum"}, "n&#39;est pas une date valide"),
        ({"related_events": "31/02/2027 ; Forum"}, "n&#39;est pas une date valide"),
        ({"related_events": "09/03/2027"}, "Ligne 1 des événements liés"),
        ({"related_events": "09/03/1999 ; Forum"}, "entre 2000 et 2100"),
        ({"title": "x\x00y"}, "contient un caractère non autorisé"),
        ({"title": "t" * 201}, "Saisissez au plus 200 caractères."),
    ],
)
def test_bad_cycle_input_is_explained_in_french(staff_client, changes, message):
    response = staff_client.post("/admin/cycles/nouveau", data=_cycle_form(**changes))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Il y a un problème" in html and message in html
    assert db.session.scalar(db.select(db.func.count(Programme.id))) == 0


def test_duplicate_suggests_the_first_wednesdays_of_the_next_semester(
    staff_client, create_programme, create_meeting
):
    source = _spring_cycle(create_programme, create_meeting)
    # The cycle ends in May 2027: the next semester starts in September.
    suggested = cycles.duplicate_data(source, today=date(2027, 4, 1))
    assert [suggested[f"day_{n}"] for n in (1, 2, 3)] == [
        date(2027, 9, 1),
        date(2027, 10, 6),
        date(2027, 11, 3),
    ]
    page = staff_client.get(f"/admin/cycles/{source.id}/dupliquer").get_data(as_text=True)
    assert "Date de la séance 3" in page and "Mixité sociale" in page


def test_the_summer_break_and_the_new_year_are_skipped():
    assert cycles.first_wednesdays(date(2027, 7, 15), 2) == [date(2027, 9, 1), date(2027, 10, 6)]
    assert cycles.first_wednesdays(date(2027, 12, 1), 2) == [date(2027, 12, 1), date(2028, 1, 5)]


def test_duplicate_onto_edited_dates_keeps_hours_and_settings(
    staff_client, create_programme, create_meeting
):
    source = _spring_cycle(create_programme, create_meeting)
    response = staff_client.post(
        f"/admin/cycles/{source.id}/dupliquer",
        data={
            "title": "Cycle de l’automne 2027",
            "year": "2027",
            "day_1": "2027-09-01",
            "day_2": "2027-10-13",  # edited: not the suggested Wednesday
            "day_3": "2027-11-03",
        },
    )
    assert response.status_code == 303
    copy = db.session.scalar(db.select(Programme).filter_by(title="Cycle de l’automne 2027"))
    assert copy.published is False and copy.related_events == []
    assert copy.introduction == source.introduction
    starts = [m.starts_at for m in copy.meetings]
    # Same Paris hours, summer and winter time alike (17:00, 18:00, 17:00).
    assert starts == [paris(2027, 9, 1, 17), paris(2027, 10, 13, 18), paris(2027, 11, 3, 17)]
    first = copy.meetings[0]
    assert first.status is MeetingStatus.DRAFT
    assert (first.capacity, first.approval_mode) == (80, ApprovalMode.MODERATED)
    assert first.title == programmes.TOPIC_TO_COME and not first.topic_announced
    assert first.speakers == [] and first.video_url == "" and first.seats_taken == 0
    [event] = _events("cycle.duplicate")
    assert event.before["source"] == source.id
    assert event.after["days"] == ["2027-09-01", "2027-10-13", "2027-11-03"]
    # The source is untouched.
    assert len(source.meetings) == 3 and source.meetings[0].title == "Mixité sociale"


def test_duplicate_may_keep_the_topics(staff_client, create_programme, create_meeting):
    source = _spring_cycle(create_programme, create_meeting)
    data = {"title": "Reprise", "year": "2028", "keep_topics": "y"}
    data.update({f"day_{n}": f"2028-0{n}-05" for n in (1, 2, 3)})
    assert staff_client.post(f"/admin/cycles/{source.id}/dupliquer", data=data).status_code == 303
    copy = db.session.scalar(db.select(Programme).filter_by(title="Reprise"))
    assert copy.meetings[0].title == "Mixité sociale"
    assert copy.meetings[0].speakers[0]["name"] == "Camille Durand"
    assert copy.slug == "reprise-2028"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"day_2": ""}, "Saisissez la date de la séance 2"),
        ({"day_2": "2027-02-30"}, "Saisissez une date valide"),
        ({"day_3": "1999-01-06"}, "Saisissez une date entre le 1er janvier 2000"),
        ({"title": ""}, "Saisissez le titre du nouveau cycle."),
        ({"year": "deux mille"}, "Saisissez un nombre entier"),
    ],
)
def test_bad_duplicate_input_is_explained_and_saves_nothing(
    staff_client, create_programme, create_meeting, changes, message
):
    source = _spring_cycle(create_programme, create_meeting)
    data = {"title": "Copie", "year": "2027", "day_1": "2027-09-01"}
    data.update({"day_2": "2027-10-06", "day_3": "2027-11-03"}, **changes)
    response = staff_client.post(f"/admin/cycles/{source.id}/dupliquer", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Programme.id))) == 1


def test_the_service_refuses_a_date_count_that_does_not_match(create_programme, create_meeting):
    source = _spring_cycle(create_programme, create_meeting)
    with pytest.raises(CycleError):
        cycles.duplicate_cycle(
            source, title="X", year=2027, days=[date(2027, 9, 1)], keep_topics=False, actor=None
        )


def test_publish_makes_the_new_cycle_current_and_archives_the_old_one(
    staff_client, create_programme, create_meeting
):
    source = _spring_cycle(create_programme, create_meeting)
    data = {"title": "Cycle de l’automne 2027", "year": "2027"}
    data.update({"day_1": "2027-09-01", "day_2": "2027-10-06", "day_3": "2027-11-03"})
    staff_client.post(f"/admin/cycles/{source.id}/dupliquer", data=data)
    copy = db.session.scalar(db.select(Programme).filter_by(title=data["title"]))
    assert programmes.get_current_programme().id == source.id
    response = staff_client.post(f"/admin/cycles/{copy.id}/publier", data={"with_meetings": "y"})
    assert response.status_code == 303
    db.session.expire_all()
    assert copy.published and all(m.is_published for m in copy.meetings)
    assert programmes.get_current_programme().id == copy.id
    assert [p.id for p in programmes.archived_programmes()] == [source.id]
    assert len(_events("cycle.publish")) == 1 and len(_events("meeting.publish")) == 3
    home = staff_client.get("/").get_data(as_text=True)
    assert "Cycle de l’automne 2027" in home
    # The old cycle: in the archive, with its page, its meetings and their calendars.
    archive = staff_client.get("/cycles-precedents").get_data(as_text=True)
    assert "Cycle du printemps 2027" in archive and f"/cycles/{source.slug}" in archive
    old = staff_client.get(f"/cycles/{source.slug}")
    assert old.status_code == 200 and "Mixité sociale" in old.get_data(as_text=True)
    old_meeting = source.meetings[0]
    assert staff_client.get(f"/seances/{old_meeting.slug}").status_code == 200
    ics = staff_client.get(f"/seances/{old_meeting.slug}.ics")
    assert ics.status_code == 200 and b"BEGIN:VEVENT" in ics.data
    feed = staff_client.get(f"/cycles/{source.slug}/calendrier.ics").get_data(as_text=True)
    assert feed.count("BEGIN:VEVENT") == 3
    # The current cycle's own address leads home.
    assert staff_client.get(f"/cycles/{copy.slug}").headers["Location"] == "/"


def test_unpublish_takes_the_cycle_and_its_pages_off_the_site(
    staff_client, create_programme, create_meeting
):
    meeting = create_meeting()
    programme = meeting.programme
    db.session.commit()
    assert staff_client.post(f"/admin/cycles/{programme.id}/depublier").status_code == 303
    db.session.expire_all()
    assert programme.published is False
    assert staff_client.get(f"/seances/{meeting.slug}").status_code == 404
    assert staff_client.get(f"/cycles/{programme.slug}/calendrier.ics").status_code == 404
    [event] = _events("cycle.unpublish")
    assert event.after == {"published": False}
    listing = staff_client.get("/admin/cycles").get_data(as_text=True)
    assert "Non publié" in listing and "Publier le cycle" in listing
    # Twice does nothing more.
    staff_client.post(f"/admin/cycles/{programme.id}/depublier")
    assert len(_events("cycle.unpublish")) == 1


def test_cycle_actions_need_a_signed_in_account_and_a_csrf_token(client, create_programme):
    programme = create_programme()
    db.session.commit()
    for path in (
        "/admin/cycles",
        "/admin/cycles/nouveau",
        f"/admin/cycles/{programme.id}/dupliquer",
    ):
        assert client.get(path).status_code == 303
    assert client.post(f"/admin/cycles/{programme.id}/depublier").status_code == 303
    db.session.expire_all()
    assert programme.published is True


def test_unknown_cycles_answer_404(staff_client):
    for path in (
        "/admin/cycles/999/dupliquer",
        "/cycles/inconnu",
        "/cycles/inconnu/calendrier.ics",
    ):
        assert staff_client.get(path).status_code == 404
    assert staff_client.post("/admin/cycles/999/publier").status_code == 404


def test_the_new_meeting_form_takes_the_cycle_defaults(
    staff_client, create_programme, create_meeting
):
    programme = create_programme(
        default_start=time(18, 30),
        default_end=time(20),
        default_capacity=40,
        default_approval_mode=ApprovalMode.MODERATED,
    )
    create_meeting(programme=programme, starts_at=paris(2030, 3, 6, 17))
    db.session.commit()
    page = staff_client.get(f"/admin/seances/nouvelle?programme={programme.id}")
    html = page.get_data(as_text=True)
    assert 'value="18:30"' in html and 'value="20:00"' in html and 'value="40"' in html
    assert re.search(r'<input checked id="approval_mode-1"[^>]*value="moderated"', html)
    # The month after the last meeting, on its first Wednesday.
    assert 'value="2030-04-03"' in html
    # The title box wraps a long title.
    assert '<textarea class="input--wide" id="title"' in html


def test_the_demo_texts_follow_its_moved_dates(app):
    data = programmes.read_programme_file(programmes.DEFAULT_FILE)
    programme = programmes.load_programme(data, demo=True, today=date(2026, 12, 1))
    first = programme.meetings[0]
    assert first.starts_at == paris(2026, 12, 2, 17)
    texts = [
        programme.title,
        programme.introduction,
        *programme.planned_topics,
        *(e["description"] for e in programme.related_events),
        *(m.description for m in programme.meetings),
    ]
    joined = "\n".join(texts)
    assert "2023" not in joined and "1er mars" not in joined and "9 mars" not in joined
    assert programme.year == 2027  # most meetings fall in 2027
    assert "L’année 2027" in programme.introduction
    [event] = programme.related_events
    assert event["date"] == "2026-12-10"  # eight days after the first meeting, as in 2023
    assert event["description"] == "La séance du 2 décembre en offre une première approche."
    assert "Journée régionale du 10 décembre à Lille" in first.description
    db.session.commit()
    # A later run, on another day, moves nothing and rewrites nothing.
    sequence = first.sequence
    programmes.load_programme(data, demo=True, today=date(2027, 2, 1))
    db.session.commit()
    assert first.starts_at == paris(2026, 12, 2, 17) and first.sequence == sequence
    assert event == programme.related_events[0]


def test_a_real_load_keeps_the_source_texts(app):
    data = programmes.read_programme_file(programmes.DEFAULT_FILE)
    programme = programmes.load_programme(data)
    assert "1er mars" in programme.related_events[0]["description"]
    assert programme.year == 2023
    assert (programme.default_start, programme.default_capacity) == (time(17), 100)


def test_meeting_pages_of_a_past_cycle_stay_after_a_newer_one_is_loaded(
    client, create_programme, create_meeting
):
    old = create_meeting(programme=create_programme(year=2023, slug="ancien"))
    create_meeting(programme=create_programme(year=2024, slug="nouveau"))
    db.session.commit()
    assert programmes.get_current_programme().slug == "nouveau"
    assert client.get(f"/seances/{old.slug}").status_code == 200
    assert client.get(f"/seances/{old.slug}.ics").status_code == 200
    footer = client.get("/").get_data(as_text=True)
    assert 'href="/cycles-precedents"' in footer
    assert db.session.scalar(db.select(db.func.count(Meeting.id))) == 2
