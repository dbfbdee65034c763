"""Seat reconfirmation before a full meeting: who is asked, once; the page's two answers; links."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from freezegun import freeze_time

from irev.extensions import db
from irev.models import (
    AuditEvent,
    EmailStatus,
    OutboundEmail,
    Registration,
    RegistrationState,
    utcnow,
)
from irev.notifications import cancel_url, reconfirm_url
from irev.services import reconfirmation, sending
from irev.tokens import make_token
from irev.typography import french
from tests.admin_helpers import create_staff, sign_in
from tests.registration_support import rows

S = RegistrationState
KIND = reconfirmation.RECONFIRM


@pytest.fixture
def app_config(smtp_server):
    return smtp_server.app_config()


def now() -> object:
    return utcnow().replace(microsecond=0)


def text_of(received) -> str:
    """Return the plain-text part of a received message, no-break spaces as spaces."""
    body = received.message.get_body(preferencelist=("plain",)).get_content()
    return body.replace("\u00a0", " ").replace("\u202f", " ")


def link_in(received) -> str:
    """Return the path of the reconfirmation link of a received message."""
    [url] = re.findall(r"https?://\S+/inscription/reconfirmer/\S+", text_of(received))
    return urlsplit(url).path


def fresh(registration: Registration) -> Registration:
    db.session.expire_all()
    return db.session.get(Registration, registration.id)


@pytest.fixture
def full(create_programme, create_meeting, create_person, create_registration):
    """A full meeting in 5 days (3 seats): two seated 10 days ago, one yesterday, one waiting."""
    programme = create_programme()  # follows IREV_RECONFIRM_DAYS_BEFORE (7)
    meeting = create_meeting(programme=programme, starts_at=now() + timedelta(days=5), capacity=3)
    long_ago = now() - timedelta(days=10)
    people = {
        "anne": create_registration(
            meeting, create_person(email="anne@commune.example"), state_changed_at=long_ago
        ),
        "bruno": create_registration(
            meeting, create_person(email="bruno@commune.example"), state_changed_at=long_ago
        ),
        "chloe": create_registration(
            meeting,
            create_person(email="chloe@commune.example"),
            state_changed_at=now() - timedelta(days=1),
        ),
        "waiting": create_registration(
            meeting,
            create_person(email="wanda@commune.example"),
            state=S.WAITING,
            state_changed_at=now() - timedelta(days=2),
        ),
    }
    db.session.commit()
    return meeting, people


# --- who is asked, when, once ---------------------------------------------------------------


def test_only_people_seated_before_the_moment_of_a_full_meeting_are_asked_once(
    smtp_server, full, create_programme, create_meeting, create_registration, create_person
):
    meeting, people = full
    long_ago = now() - timedelta(days=10)
    # Not full (a seat left): nobody asked.
    roomy = create_meeting(starts_at=now() + timedelta(days=5), capacity=3)
    create_registration(
        roomy, create_person(email="roomy@commune.example"), state_changed_at=long_ago
    )
    # Full, but in 10 days: the moment (7 days before) is still to come.
    later = create_meeting(starts_at=now() + timedelta(days=10), capacity=1)
    create_registration(
        later, create_person(email="later@commune.example"), state_changed_at=long_ago
    )
    # Full, within 7 days, but its cycle asks 3 days before / never.
    three = create_meeting(
        programme=create_programme(reconfirm_days_before=3),
        starts_at=now() + timedelta(days=5),
        capacity=1,
    )
    create_registration(
        three, create_person(email="three@commune.example"), state_changed_at=long_ago
    )
    never = create_meeting(
        programme=create_programme(reconfirm_days_before=0),
        starts_at=now() + timedelta(days=2),
        capacity=1,
    )
    create_registration(
        never, create_person(email="never@commune.example"), state_changed_at=long_ago
    )
    db.session.commit()

    assert reconfirmation.schedule_due() == 2
    assert reconfirmation.schedule_due() == 0  # a re-run queues nothing more
    db.session.commit()
    sending.run_pass()
    sending.run_pass()
    assert sorted(r.to for r in smtp_server.received) == [
        "anne@commune.example",
        "bruno@commune.example",
    ]
    assert {row.registration_id for row in rows(kind=KIND)} == {
        people["anne"].id,
        people["bruno"].id,
    }
    # The cycle's 3 days come: its person is asked then, and only then.
    with freeze_time(three.starts_at - timedelta(days=3)):
        assert reconfirmation.schedule_due() == 1
    # Once per registration, even after the message was sent and the job runs again later:
    # 1 h before the first meeting, only the later meeting (now within 7 days) is new.
    with freeze_time(meeting.starts_at - timedelta(hours=1)):
        assert reconfirmation.schedule_due() == 1
        assert reconfirmation.schedule_due() == 0
    assert {row.to_address for row in rows(kind=KIND)} == {
        "anne@commune.example",
        "bruno@commune.example",
        "three@commune.example",
        "later@commune.example",
    }


def test_the_email_names_the_meeting_and_links_to_the_page(smtp_server, full):
    meeting, _people = full
    sending.run_pass()
    [message] = smtp_server.to("anne@commune.example")
    assert message.message["Subject"].startswith("Confirmez votre présence")
    body = text_of(message)
    assert meeting.title in body
    assert "d’autres élus attendent une place" in body
    assert "Sans réponse de votre part, votre place reste réservée." in body
    assert link_in(message).startswith("/inscription/reconfirmer/")
    html = message.message.get_body(preferencelist=("html",)).get_content()
    assert "Confirmer ma présence ou libérer ma place" in html


def test_opening_the_link_changes_nothing(client, smtp_server, full):
    _meeting, people = full
    sending.run_pass()
    path = link_in(smtp_server.to("anne@commune.example")[0])
    emails_before = len(rows())
    page = client.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Je confirme ma présence" in html and "Je libère ma place" in html
    assert 'method="post"' in html
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert page.headers["Cache-Control"] == "no-store"
    anne = fresh(people["anne"])
    assert anne.state is S.SEATED and anne.reconfirmed_at is None
    assert len(rows()) == emails_before
    assert db.session.scalar(db.select(db.func.count(AuditEvent.id))) == 0


def test_confirming_records_it_once_and_staff_see_it(client, smtp_server, full):
    meeting, people = full
    sending.run_pass()
    path = link_in(smtp_server.to("anne@commune.example")[0])
    done = client.post(path, data={"reponse": "confirmer"})
    assert done.status_code == 200
    assert french("Votre présence est confirmée") in done.get_data(as_text=True)
    anne = fresh(people["anne"])
    assert anne.state is S.SEATED and anne.reconfirmed_at is not None
    [event] = db.session.scalars(db.select(AuditEvent).filter_by(action="registration.reconfirm"))
    assert event.object_id == anne.id and event.actor_type == "person"
    # The link is used: a second answer changes nothing, in French.
    again = client.post(path, data={"reponse": "liberer"})
    assert again.status_code == 409
    assert french("Votre présence est confirmée") in again.get_data(as_text=True)
    assert fresh(people["anne"]).state is S.SEATED
    # Staff read « place reconfirmée » on the registrations list, for Anne only.
    create_staff()
    sign_in(client)
    listing = client.get(f"/admin/seances/{meeting.id}/inscriptions").get_data(as_text=True)
    assert listing.count("place reconfirmée") == 1
    # The export says when, for Anne only.
    export = client.get(f"/admin/seances/{meeting.id}/export.csv").data.decode("utf-8-sig")
    rows = [line.split(";") for line in export.splitlines()]
    assert rows[0][-1] == "Présence reconfirmée le"
    dated = [row[4] for row in rows[1:] if row[-1]]
    assert dated == ["anne@commune.example"]


def test_freeing_gives_the_seat_to_the_waiting_list_at_once_and_emails_them(
    client, smtp_server, full
):
    meeting, people = full
    sending.run_pass()
    path = link_in(smtp_server.to("bruno@commune.example")[0])
    smtp_server.clear()
    done = client.post(path, data={"reponse": "liberer"})
    assert done.status_code == 200
    page = done.get_data(as_text=True)
    assert french("Votre place est libérée") in page
    assert "attribuée à une personne de la liste d’attente" in page
    assert fresh(people["bruno"]).state is S.CANCELLED_BY_PERSON
    assert fresh(people["waiting"]).state is S.SEATED
    db.session.refresh(meeting)
    assert meeting.seats_taken == 3
    sending.run_pass()
    [promoted] = smtp_server.to("wanda@commune.example")
    assert "Une place s’est libérée" in promoted.message["Subject"]
    [cancelled] = smtp_server.to("bruno@commune.example")
    assert "Annulation enregistrée" in cancelled.message["Subject"]
    # Bruno's used link now says there is nothing to answer.
    again = client.get(path)
    assert again.status_code == 409
    assert "plus de place réservée" in again.get_data(as_text=True)


def test_silence_keeps_the_seat(smtp_server, full):
    _meeting, people = full
    sending.run_pass()
    for hours in (24, 72, 119):
        with freeze_time(utcnow() + timedelta(hours=hours)):
            sending.run_pass()
    for key in ("anne", "bruno", "chloe"):
        registration = fresh(people[key])
        assert registration.state is S.SEATED and registration.reconfirmed_at is None
    assert fresh(people["waiting"]).state is S.WAITING
    asked = [
        m
        for m in smtp_server.to("anne@commune.example")
        if m.message["Subject"].startswith("Confirmez votre présence")
    ]
    assert len(asked) == 1  # asked once, never again


def test_a_question_no_longer_useful_is_skipped(client, smtp_server, full):
    """Queued, then the seat ends before the worker's turn: the message is never sent."""
    _meeting, people = full
    assert reconfirmation.schedule_due() == 2
    db.session.commit()
    client.post(cancel_url_path(people["anne"]))
    sending.send_pending()
    subjects = [m.message["Subject"] for m in smtp_server.to("anne@commune.example")]
    assert subjects and not any(s.startswith("Confirmez") for s in subjects)
    [row] = rows(kind=KIND, registration_id=people["anne"].id)
    assert row.status is EmailStatus.SKIPPED
    assert "plus de place réservée" in row.last_error


def cancel_url_path(registration: Registration) -> str:
    """Return the path of the cancellation link of a registration (one click, then POST)."""
    return urlsplit(cancel_url(registration)).path


# --- bad links and bad answers ---------------------------------------------------------------


def _path(registration: Registration, **payload) -> str:
    token = make_token("reconfirm", {"r": registration.id, "v": 0, **payload})
    return f"/inscription/reconfirmer/{token}"


@pytest.mark.parametrize(
    ("spoil", "status", "words"),
    [
        (lambda r: urlsplit(reconfirm_url(r)).path[:-3] + "abc", 400, "Lien incorrect"),
        (lambda r: "/inscription/reconfirmer/" + "x" * 2100, 400, "Lien incorrect"),
        (
            lambda r: urlsplit(cancel_url(r)).path.replace("annuler", "reconfirmer"),
            400,
            "Lien incorrect",
        ),  # a token made for another purpose
        (lambda r: _path(r, r="un"), 400, "Lien incorrect"),
        (lambda r: _path(r, r=10**30), 404, "Inscription introuvable"),
        (lambda r: _path(r, v=1), 404, "Lien plus valable"),  # link_version raised since
        (lambda r: _path(r, v=None), 404, "Lien plus valable"),
    ],
)
def test_a_bad_link_gives_a_french_page_and_changes_nothing(client, full, spoil, status, words):
    _meeting, people = full
    anne = people["anne"]
    path = spoil(anne)
    for method in ("get", "post"):
        response = getattr(client, method)(path, data={"reponse": "liberer"})
        assert response.status_code == status
        assert french(words) in response.get_data(as_text=True)
    assert fresh(anne).state is S.SEATED and fresh(anne).reconfirmed_at is None


def test_a_link_older_than_the_manage_links_has_expired(client, full):
    _meeting, people = full
    path = urlsplit(reconfirm_url(people["anne"])).path
    with freeze_time(utcnow() + timedelta(days=401)):
        response = client.post(path, data={"reponse": "liberer"})
    assert response.status_code == 410
    assert french("Lien expiré") in response.get_data(as_text=True)
    assert fresh(people["anne"]).state is S.SEATED


def test_once_the_meeting_started_there_is_nothing_to_answer(client, full):
    meeting, people = full
    path = urlsplit(reconfirm_url(people["anne"])).path
    with freeze_time(meeting.starts_at + timedelta(minutes=5)):
        response = client.post(path, data={"reponse": "liberer"})
    assert response.status_code == 409
    assert "La séance a déjà commencé" in response.get_data(as_text=True)
    assert fresh(people["anne"]).state is S.SEATED


@pytest.mark.parametrize("answer", ["", "oui", "liberer\x00", "x" * 5000, None])
def test_an_unknown_answer_is_refused_in_french(client, full, answer):
    _meeting, people = full
    path = urlsplit(reconfirm_url(people["anne"])).path
    response = client.post(path, data={} if answer is None else {"reponse": answer})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    if "\x00" in (answer or ""):  # the site-wide guard answers first, in French too
        assert "caractère" in html
    else:
        assert html.count(french("Erreur : ")) == 1 and "Il y a un problème" in html
    assert fresh(people["anne"]).state is S.SEATED
    assert fresh(people["anne"]).reconfirmed_at is None


def test_a_post_without_its_csrf_token_is_refused(app, client, full):
    _meeting, people = full
    path = urlsplit(reconfirm_url(people["anne"])).path
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post(path, data={"reponse": "liberer"})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 400
    assert fresh(people["anne"]).state is S.SEATED


# --- the cycle's setting ---------------------------------------------------------------------


def _cycle_post(client, programme, **changes):
    from tests.test_cycles import _cycle_form

    return client.post(f"/admin/programme?id={programme.id}", data=_cycle_form(**changes))


def test_the_cycle_page_sets_the_days(staff_client, create_programme):
    programme = create_programme()
    db.session.commit()
    page = staff_client.get(f"/admin/programme?id={programme.id}").get_data(as_text=True)
    assert "suivre le réglage général : 7 jours avant chaque séance complète." in page
    assert _cycle_post(staff_client, programme, reconfirm_days_before="3").status_code == 303
    db.session.expire_all()
    assert programme.reconfirm_days_before == 3
    [event] = db.session.scalars(db.select(AuditEvent).filter_by(action="programme.update"))
    assert event.after["reconfirm_days_before"] == 3
    page = staff_client.get(f"/admin/programme?id={programme.id}").get_data(as_text=True)
    assert "Confirmation de présence demandée actuellement : 3 jours avant" in page
    assert _cycle_post(staff_client, programme, reconfirm_days_before="0").status_code == 303
    db.session.expire_all()
    assert programme.reconfirm_days_before == 0
    assert reconfirmation.reconfirm_text(programme) == "jamais"
    assert _cycle_post(staff_client, programme, reconfirm_days_before="").status_code == 303
    db.session.expire_all()
    assert programme.reconfirm_days_before is None


@pytest.mark.parametrize("value", ["-1", "61", "sept", "1.5", "9" * 30, "3\x00"])
def test_bad_days_are_refused_in_french(staff_client, create_programme, value):
    programme = create_programme(reconfirm_days_before=2)
    db.session.commit()
    response = _cycle_post(staff_client, programme, reconfirm_days_before=value)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Il y a un problème" in html
    db.session.expire_all()
    assert programme.reconfirm_days_before == 2


def test_the_outbox_key_makes_a_second_queueing_a_no_op(full):
    """Two passes at once (two workers): the unique key keeps one row per registration."""
    _meeting, people = full
    from irev.services.outbox import enqueue

    assert reconfirmation.schedule_due() == 2
    again = enqueue(
        KIND,
        "anne@commune.example",
        dedupe_key=reconfirmation.dedupe_key(people["anne"]),
        registration=people["anne"],
    )
    assert again is False
    assert db.session.scalar(db.select(db.func.count(OutboundEmail.id)).filter_by(kind=KIND)) == 2
