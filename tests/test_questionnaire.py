"""The satisfaction questionnaire: its signed link, one anonymous answer per attendee, results.

Answers are checked in the database (a receipt per registration, a response with no person),
the pages in French with their status codes, and the staff views and exports for the absence
of anyone's name or address.
"""

from __future__ import annotations

import io
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from openpyxl import load_workbook

from irev.extensions import db
from irev.models import (
    QuestionnaireReceipt,
    QuestionnaireResponse,
    RegistrationState,
    StaffRole,
    utcnow,
)
from irev.services import questionnaire
from irev.services import questionnaire_results as results_module
from irev.tokens import make_token
from tests import factories
from tests.admin_helpers import create_staff, sign_in
from tests.http_client import csrf_token

S = RegistrationState
KEYS = [q.key for q in questionnaire.current_set().ratings]


def past_meeting(**values):
    """Return a meeting held three days ago."""
    values.setdefault("starts_at", utcnow().replace(microsecond=0) - timedelta(days=3))
    return factories.create_meeting(**values)


def attendee(meeting, attended=True, **person):
    """Return a seated registration marked present (or not) at the meeting."""
    who = factories.create_person(**person)
    return factories.create_registration(meeting, person=who, state=S.SEATED, attended=attended)


def path(registration) -> str:
    """Return the questionnaire path of a registration (the link e-mailed after the meeting)."""
    url = questionnaire.questionnaire_url(registration)
    assert url is not None
    return urlsplit(url).path


def answers(**overrides) -> dict:
    """Return a valid submission: every rating 4, no remark."""
    data = {key: "4" for key in KEYS} | {"remark": ""}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def post(client, url, data):
    """Open the page (for its CSRF token), then send the answers."""
    page = client.get(url)
    token = csrf_token(page.get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token})


def text_of(response) -> str:
    """Return a page's HTML with the typography filter's no-break spaces read as spaces."""
    return response.get_data(as_text=True).replace("\u00a0", " ").replace("\u202f", " ")


def counts() -> tuple[int, int]:
    return (
        db.session.scalar(db.select(db.func.count()).select_from(QuestionnaireReceipt)),
        db.session.scalar(db.select(db.func.count()).select_from(QuestionnaireResponse)),
    )


@pytest.fixture
def meeting(app):
    return past_meeting(title="La politique de la ville")


def test_an_attendee_answers_once_from_any_device(app, client, meeting):
    registration = attendee(meeting)
    db.session.commit()
    url = path(registration)

    page = client.get(url)
    html = text_of(page)
    assert page.status_code == 200
    assert html.count("<fieldset") == len(KEYS)
    assert "quelle appréciation portez-vous sur cette rencontre" in html
    assert "1 (très insatisfaisante)" in html and "5 (très satisfaisante)" in html
    assert "Une remarque, une suggestion" in html and "(facultatif)" in html
    assert page.headers["Referrer-Policy"] == "same-origin"

    other_device = app.test_client()  # days later, on a phone: only the link is needed
    done = post(other_device, url, answers(satisfaction="5", remark="Très clair, merci."))
    assert done.status_code == 200
    assert "Merci pour vos réponses" in text_of(done)
    assert counts() == (1, 1)
    [response] = db.session.scalars(db.select(QuestionnaireResponse))
    assert response.meeting_id == meeting.id and response.version == questionnaire.CURRENT_VERSION
    assert response.ratings == {key: 4 for key in KEYS} | {"satisfaction": 5}
    assert response.remark == "Très clair, merci."
    assert questionnaire.questionnaire_url(registration) is None

    again = post(client, url, answers(satisfaction="1"))
    assert again.status_code == 409
    assert "Vous avez déjà répondu, merci" in text_of(again)
    assert client.get(url).status_code == 409
    assert counts() == (1, 1)


def test_the_stored_answer_holds_nothing_that_names_or_dates_it(app):
    columns = set(QuestionnaireResponse.__table__.columns.keys())
    assert columns == {"id", "meeting_id", "version", "ratings", "remark"}
    assert set(QuestionnaireReceipt.__table__.columns.keys()) == {"registration_id"}


@pytest.mark.parametrize(
    "change",
    [
        "tampered",
        "other_purpose",
        "other_meeting",
        "revoked",
        "erased",
    ],
)
def test_links_that_do_not_open_the_questionnaire(app, client, meeting, change):
    registration = attendee(meeting)
    other = past_meeting()
    db.session.commit()
    token = questionnaire.questionnaire_token(registration)
    if change == "tampered":
        token = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    elif change == "other_purpose":
        token = make_token("manage", {"p": registration.person_id, "v": 0})
    elif change == "other_meeting":
        token = make_token("questionnaire", {"r": registration.id, "m": other.id, "v": 0})
    elif change == "revoked":
        registration.person.link_version += 1
        db.session.commit()
    elif change == "erased":
        from irev.services import gdpr

        gdpr.anonymise(registration.person)
        db.session.commit()
    page = client.get(f"/inscription/questionnaire/{token}")
    assert page.status_code == 400
    assert "Lien incorrect" in text_of(page)
    response = client.post(f"/inscription/questionnaire/{token}", data=answers())
    assert response.status_code == 400
    assert counts() == (0, 0)


def test_an_expired_link_says_so_in_french(app, client, meeting, monkeypatch):
    registration = attendee(meeting)
    db.session.commit()
    from itsdangerous import timed

    days = app.config["IREV_MANAGE_LINK_MAX_AGE_DAYS"] + 1
    real_time = timed.time.time
    monkeypatch.setattr(timed.time, "time", lambda: real_time() - days * 86400)
    token = questionnaire.questionnaire_token(registration)  # signed long ago
    monkeypatch.setattr(timed.time, "time", real_time)
    page = client.get(f"/inscription/questionnaire/{token}")
    assert page.status_code == 410
    assert "Ce lien vers le questionnaire a expiré" in text_of(page)
    assert counts() == (0, 0)


@pytest.mark.parametrize("attended", [False, None])
def test_only_attendees_may_answer(app, client, meeting, attended):
    registration = attendee(meeting, attended=attended)
    db.session.commit()
    assert questionnaire.questionnaire_url(registration) is None
    token = questionnaire.questionnaire_token(registration)
    page = client.get(f"/inscription/questionnaire/{token}")
    assert page.status_code == 403
    assert "réservé aux personnes dont la présence" in text_of(page)
    assert client.post(f"/inscription/questionnaire/{token}", data=answers()).status_code == 403
    assert counts() == (0, 0)


def test_a_cancelled_registration_gets_no_questionnaire(app, meeting):
    registration = attendee(meeting)
    registration.state = S.CANCELLED_BY_PERSON
    db.session.commit()
    assert questionnaire.questionnaire_url(registration) is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            answers(satisfaction=None),
            "Choisissez une note de 1 à 5 pour « appréciation d’ensemble »",
        ),
        (answers(usefulness=""), "Choisissez une note de 1 à 5 pour « utilité pour votre mandat »"),
        (answers(exchanges="6"), "doit être l’un des choix proposés, de 1 à 5"),
        (answers(format="0"), "doit être l’un des choix proposés, de 1 à 5"),
        (answers(recommend="cinq"), "doit être l’un des choix proposés, de 1 à 5"),
        (answers(recommend="9" * 30), "doit être l’un des choix proposés, de 1 à 5"),
        (answers(satisfaction="4\x00"), "doit être l’un des choix proposés, de 1 à 5"),
        (answers(remark="a" * 2001), "elle doit en faire 2 000 au plus"),
        (answers(remark="Bien\x00"), "caractères non autorisés"),
    ],
)
def test_bad_answers_are_refused_in_french_and_nothing_is_saved(
    app, client, meeting, data, message
):
    registration = attendee(meeting)
    db.session.commit()
    response = post(client, path(registration), data)
    html = text_of(response)
    assert response.status_code == 422
    assert "Il y a un problème" in html and message in html
    assert "<title>Erreur : " in html
    assert counts() == (0, 0)
    assert questionnaire.questionnaire_url(registration) is not None  # may still answer


def test_a_remark_at_the_maximum_length_is_kept(app, client, meeting):
    registration = attendee(meeting)
    db.session.commit()
    assert post(client, path(registration), answers(remark="é" * 2000)).status_code == 200
    assert db.session.scalar(db.select(QuestionnaireResponse.remark)) == "é" * 2000


def test_save_answer_refuses_a_second_answer_in_the_database(app, meeting):
    registration = attendee(meeting)
    db.session.commit()
    ratings = {key: 3 for key in KEYS}
    questionnaire.save_answer(registration, ratings, "")
    db.session.commit()
    with pytest.raises(questionnaire.AlreadyAnswered):
        questionnaire.save_answer(registration, ratings, "encore")
    db.session.rollback()
    assert counts() == (1, 1)


# --- results ----------------------------------------------------------------------------------


def answer_all(meeting, ratings_list, remarks=None, **person):
    """Make one attendee per ratings dict answer; return the registrations."""
    registrations = []
    for index, ratings in enumerate(ratings_list):
        registration = attendee(meeting, **person)
        remark = (remarks or [""] * len(ratings_list))[index]
        questionnaire.save_answer(registration, {k: ratings.get(k, 3) for k in KEYS}, remark)
        registrations.append(registration)
    db.session.commit()
    return registrations


def test_results_count_and_average_each_question(app, meeting):
    answer_all(
        meeting,
        [{"satisfaction": 5, "usefulness": 2}, {"satisfaction": 4}, {"satisfaction": 1}],
        remarks=["Zoom a coupé", "", "Bravo"],
    )
    attendee(meeting)  # present, did not answer
    db.session.commit()
    results = results_module.meeting_results(meeting)
    assert (results.answers, results.attendees, results.shown) == (3, 4, True)
    assert results.rate == 0.75
    satisfaction = results.questions[0]
    assert satisfaction.question.key == "satisfaction"
    assert satisfaction.counts == {1: 1, 2: 0, 3: 0, 4: 1, 5: 1}
    assert satisfaction.average == pytest.approx(10 / 3)
    assert results.average("usefulness") == pytest.approx((2 + 3 + 3) / 3)
    assert results.remarks == ["Bravo", "Zoom a coupé"]  # alphabetical: order of answers hidden
    assert results_module.french_average(satisfaction.average) == "3,3"


def test_results_below_the_threshold_are_hidden(app, staff_client, meeting):
    answer_all(meeting, [{"satisfaction": 1}, {"satisfaction": 2}], remarks=["Trop long", ""])
    results = results_module.meeting_results(meeting)
    assert (results.answers, results.shown, results.questions, results.remarks) == (
        2,
        False,
        [],
        [],
    )
    page = staff_client.get(f"/admin/seances/{meeting.id}/questionnaire")
    html = text_of(page)
    assert page.status_code == 200
    assert "2 réponses pour l'instant" in html and "à partir de 3 réponses" in html
    assert "Trop long" not in html and "<svg" not in html


def test_a_cycle_counts_only_meetings_with_enough_answers(app):
    programme = factories.create_programme()
    full = past_meeting(programme=programme)
    thin = past_meeting(programme=programme, starts_at=utcnow() - timedelta(days=40))
    answer_all(full, [{"satisfaction": 4}, {"satisfaction": 4}, {"satisfaction": 5}])
    answer_all(thin, [{"satisfaction": 1}])
    summary = results_module.cycle_satisfaction(programme)
    assert summary.answers == 3 and summary.attendees == 3
    assert (summary.meetings_counted, summary.meetings_with_answers) == (1, 2)
    assert summary.satisfaction == pytest.approx(13 / 3)
    assert summary.averages["format"] == 3
    assert summary.response_rate == 1


def test_a_question_of_an_older_version_still_counts_by_key(app, meeting, monkeypatch):
    answer_all(meeting, [{"satisfaction": 2}] * 3)
    db.session.add(
        QuestionnaireResponse(meeting_id=meeting.id, version=0, ratings={"old_key": 5}, remark="")
    )
    db.session.commit()
    results = results_module.meeting_results(meeting)
    keys = [r.question.key for r in results.questions]
    assert keys[: len(KEYS)] == KEYS and keys[-1] == "old_key"
    assert results.questions[-1].counts[5] == 1


def test_staff_results_pages_and_export_name_nobody(app, client):
    programme = factories.create_programme(title="Rencontres 2027")
    meeting = past_meeting(programme=programme, title="Habitat")
    answer_all(
        meeting,
        [{"satisfaction": 5}, {"satisfaction": 3}, {"satisfaction": 4}],
        remarks=["Un beau débat", "", ""],
        first_name="Hortense",
        last_name="Delacroix",
    )
    create_staff("moderation@irev.fr", role=StaffRole.MODERATION)
    assert sign_in(client, "moderation@irev.fr").status_code == 303
    pages = [
        client.get(f"/admin/seances/{meeting.id}/questionnaire"),
        client.get(f"/admin/programmes/{programme.id}/questionnaire"),
    ]
    for page in pages:
        html = text_of(page)
        assert page.status_code == 200
        assert "Hortense" not in html and "Delacroix" not in html and "@commune.example" not in html
    meeting_html = text_of(pages[0])
    assert "Un beau débat" in meeting_html
    assert '<svg role="img"' in meeting_html and "Répartition des notes" in meeting_html
    assert "4,0 sur 5" in meeting_html  # (5 + 3 + 4) / 3

    export = client.get(f"/admin/programmes/{programme.id}/questionnaire.xlsx")
    assert export.status_code == 200
    book = load_workbook(io.BytesIO(export.data))
    cycle = list(book["Cycle"].values)
    assert cycle[0][:3] == ("Question", "Réponses", "Moyenne (1 à 5)")
    assert cycle[1][1:] == (3, 4.0, 0, 0, 1, 1, 1)
    by_meeting = list(book["Par séance"].values)
    assert by_meeting[1][0] == "Habitat" and by_meeting[1][2:5] == (3, 3, 4.0)
    text = " ".join(str(v) for sheet in book for row in sheet.values for v in row)
    assert "Hortense" not in text and "Delacroix" not in text and "Un beau débat" not in text
    from irev.models import AuditEvent

    assert db.session.scalar(
        db.select(AuditEvent).where(AuditEvent.action == "questionnaire.export")
    )
    # Answering left no audit row that would link a person to a time.
    assert not db.session.scalar(
        db.select(AuditEvent).where(AuditEvent.action.like("questionnaire.answer%"))
    )


def test_results_pages_need_a_staff_account(app, client, meeting):
    db.session.commit()
    for url in (
        f"/admin/seances/{meeting.id}/questionnaire",
        f"/admin/programmes/{meeting.programme_id}/questionnaire",
        f"/admin/programmes/{meeting.programme_id}/questionnaire.xlsx",
    ):
        response = client.get(url)
        assert response.status_code == 303 and "/admin/connexion" in response.headers["Location"]


def test_a_data_export_says_who_answered_but_holds_no_answer(app, meeting):
    from irev.services import gdpr_export

    [registration] = answer_all(meeting, [{"satisfaction": 2}], remarks=["Trop de jargon"])
    exported = gdpr_export.export(registration.person)
    assert exported["questionnaire_repondu"] == [meeting.title]
    assert "Trop de jargon" not in str(exported)
