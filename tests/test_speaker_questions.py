"""Questions for the speaker: asked with the form or from the self-service page, sorted by
staff (keep, merge, answer, reopen) with audit rows, exported without names, erased with
the person. The form's confirmation link travels through a real SMTP server."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from irev.extensions import db
from irev.models import AuditEvent, QuestionState, SpeakerQuestion, StaffRole, utcnow
from irev.models import RegistrationState as S
from irev.services import gdpr, gdpr_export, sending
from irev.services import speaker_questions as service
from irev.tokens import make_token
from tests import factories
from tests.admin_helpers import create_staff, sign_in
from tests.registration_support import form_data, path_of, season

Q = QuestionState


@pytest.fixture
def app_config(smtp_server):
    return smtp_server.app_config()


def text_of(response) -> str:
    """Return a page's HTML with no-break spaces read as spaces."""
    return response.get_data(as_text=True).replace("\u00a0", " ").replace("\u202f", " ")


def manage_path(person) -> str:
    """Return the self-service path of a person (the link of every e-mail)."""
    return "/inscription/gerer/" + make_token("manage", {"p": person.id, "v": person.link_version})


def questions() -> list[SpeakerQuestion]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(SpeakerQuestion).order_by(SpeakerQuestion.id)))


def actions(prefix: str = "question.") -> list[AuditEvent]:
    return list(
        db.session.scalars(
            db.select(AuditEvent)
            .where(AuditEvent.action.like(f"{prefix}%"))
            .order_by(AuditEvent.id)
        )
    )


# --- at registration --------------------------------------------------------------------------


def test_a_question_asked_with_the_form_shows_to_staff_once_confirmed(app, client, smtp_server):
    meetings = season()
    form = client.get("/inscription").get_data(as_text=True)
    assert 'name="speaker_question"' in form and "Une question pour l’intervenant" in form
    data = form_data(
        "seance-seconde", "seance-ouverte", speaker_question="  Quels financements ?  "
    )
    assert client.post("/inscription", data=data).status_code == 303
    [question] = questions()
    assert question.text == "Quels financements ?" and question.state is Q.NEW
    assert question.meeting_id == meetings["open"].id  # the earliest meeting asked
    assert service.meeting_questions(meetings["open"]) == []  # not confirmed yet

    assert sending.send_pending().sent == 1
    [received] = smtp_server.to("camille.durand@roubaix.example")
    body = received.message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"https?://\S+/inscription/confirmer/\S+", body).group(0)
    assert client.post(path_of(link)).status_code == 200
    assert [q.id for q in service.meeting_questions(meetings["open"])] == [question.id]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("q" * 1001, "elle doit en faire 1 000 au plus"),
        ("Pourquoi\x00 ?", "caractères non autorisés"),
    ],
)
def test_a_bad_question_on_the_form_is_refused_and_nothing_saved(app, client, text, message):
    season()
    response = client.post("/inscription", data=form_data("seance-ouverte", speaker_question=text))
    assert response.status_code == 422
    assert message in text_of(response)
    assert questions() == []


def test_an_empty_question_saves_nothing(app, client):
    season()
    assert client.post("/inscription", data=form_data("seance-ouverte")).status_code == 303
    assert questions() == []


# --- self-service -----------------------------------------------------------------------------


def _seated(meeting=None, **person):
    registration = factories.create_registration(
        meeting, person=factories.create_person(**person), state=S.SEATED
    )
    db.session.commit()
    return registration


def test_ask_change_and_withdraw_from_the_self_service_page(app, client):
    registration = _seated()
    manage = manage_path(registration.person)
    page = text_of(client.get(manage))
    assert "Poser une question à l’intervenant ou l’intervenante" in page
    url = f"{manage}/question/{registration.id}"
    form = client.get(url)
    assert form.status_code == 200 and 'name="question"' in form.get_data(as_text=True)

    assert client.post(url, data={"question": "", "action": "save"}).status_code == 422
    assert questions() == []
    done = client.post(url, data={"question": "Et les bailleurs ?", "action": "save"})
    assert done.status_code == 303
    [question] = questions()
    assert question.text == "Et les bailleurs ?" and question.registration_id == registration.id
    assert "Et les bailleurs ?" in text_of(client.get(manage))

    question.state = Q.KEPT
    db.session.commit()
    client.post(url, data={"question": "Et les bailleurs sociaux ?", "action": "save"})
    [question] = questions()
    assert question.text == "Et les bailleurs sociaux ?" and question.state is Q.NEW

    assert client.post(url, data={"action": "withdraw", "question": ""}).status_code == 303
    assert questions() == []
    assert [e.action for e in actions()] == ["question.ask", "question.update", "question.withdraw"]
    assert all(e.actor_type == "person" and e.object_type == "registration" for e in actions())


def test_no_change_once_the_meeting_has_started_or_staff_answered(app, client):
    registration = _seated()
    question = service.set_question(registration, "Avant", registration.person)
    db.session.commit()
    url = f"{manage_path(registration.person)}/question/{registration.id}"
    question.state = Q.ANSWERED
    db.session.commit()
    assert client.post(url, data={"question": "Après", "action": "save"}).status_code == 303
    assert questions()[0].text == "Avant"
    question = questions()[0]
    question.state = Q.NEW
    registration.meeting.starts_at = utcnow() - timedelta(minutes=5)
    registration.meeting.ends_at = utcnow() + timedelta(hours=1)
    db.session.commit()
    assert client.post(url, data={"question": "Après", "action": "save"}).status_code == 303
    assert client.post(url, data={"action": "withdraw"}).status_code == 303
    assert [q.text for q in questions()] == ["Avant"]


def test_someone_else_s_registration_is_not_found(app, client):
    mine, theirs = _seated(), _seated()
    url = f"{manage_path(mine.person)}/question/{theirs.id}"
    assert client.get(url).status_code == 404
    assert client.post(url, data={"question": "Intrus", "action": "save"}).status_code == 404
    assert questions() == []


# --- staff ------------------------------------------------------------------------------------


@pytest.fixture
def asked(app):
    """A meeting with three questions from seated people, and one from a cancelled one."""
    meeting = factories.create_meeting(title="Habitat")
    made = []
    for index, text in enumerate(["Quel calendrier ?", "Quel planning ?", "Quels moyens ?"]):
        registration = _seated(
            meeting,
            first_name="Élise",
            last_name=f"Vasseur{index}",
            organisation=f"Commune de Bruay {index}",
            mandate="maire" if index else "adjoint",
        )
        made.append(service.set_question(registration, text, registration.person))
    gone = _seated(meeting)
    service.set_question(gone, "Retirée", gone.person)
    gone.state = S.CANCELLED_BY_PERSON
    db.session.commit()
    return meeting, made


def _act(client, meeting, question, action, **extra):
    return client.post(
        f"/admin/seances/{meeting.id}/questions/{question.id}", data={"action": action, **extra}
    )


@pytest.mark.parametrize("role", [StaffRole.ADMIN, StaffRole.MODERATION])
def test_staff_keep_merge_answer_and_reopen_with_audit_rows(app, client, asked, role):
    meeting, (first, second, third) = asked
    create_staff("equipe@irev.fr", role=role)
    assert sign_in(client).status_code == 303
    page = text_of(client.get(f"/admin/seances/{meeting.id}/questions"))
    assert "Quel calendrier ?" in page and "Élise Vasseur0" in page and "Retirée" not in page

    assert _act(client, meeting, first, "keep").status_code == 303
    assert _act(client, meeting, second, "merge", cible=str(first.id)).status_code == 303
    assert _act(client, meeting, third, "merge", cible=str(second.id)).status_code == 422
    assert _act(client, meeting, first, "answer").status_code == 303
    states = {q.id: (q.state, q.merged_into_id) for q in questions()}
    assert states[first.id] == (Q.ANSWERED, None)
    assert states[second.id] == (Q.MERGED, first.id)
    assert states[third.id] == (Q.NEW, None)
    # Merging the target elsewhere takes its merged questions along: no chain.
    assert _act(client, meeting, first, "reopen").status_code == 303
    assert _act(client, meeting, first, "merge", cible=str(third.id)).status_code == 303
    states = {q.id: (q.state, q.merged_into_id) for q in questions()}
    assert states[first.id] == (Q.MERGED, third.id) and states[second.id] == (Q.MERGED, third.id)
    assert states[third.id][0] is Q.KEPT

    staff_rows = [e for e in actions() if e.actor_type == "staff"]
    assert [e.action for e in staff_rows] == [
        "question.keep",
        "question.merge",
        "question.answer",
        "question.reopen",
        "question.merge",
    ]
    assert all(e.object_type == "meeting" and e.object_id == meeting.id for e in staff_rows)
    assert staff_rows[1].after == {
        "question_id": second.id,
        "question_state": "merged",
        "merged_into": first.id,
    }
    journal = text_of(client.get("/admin/journal"))
    assert "Question pour l’intervenant fusionnée" in journal


@pytest.mark.parametrize(
    ("action", "extra", "status"),
    [
        ("merge", {"cible": "self"}, 422),
        ("merge", {"cible": ""}, 422),
        ("merge", {"cible": "99999999999999999999999"}, 422),
        ("merge", {"cible": "other"}, 422),
        ("answer_merged", {}, 422),
        ("détruire", {}, 422),
    ],
)
def test_bad_staff_actions_are_refused_in_french(app, staff_client, asked, action, extra, status):
    meeting, (first, second, _third) = asked
    other_meeting = factories.create_meeting()
    elsewhere = _seated(other_meeting)
    foreign = service.set_question(elsewhere, "Ailleurs", elsewhere.person)
    db.session.commit()
    if extra.get("cible") == "self":
        extra = {"cible": str(first.id)}
    elif extra.get("cible") == "other":
        extra = {"cible": str(foreign.id)}
    if action == "answer_merged":
        service.merge(second, first, create_staff("autre@irev.fr"))
        db.session.commit()
        response = _act(staff_client, meeting, second, "answer")
    else:
        response = _act(staff_client, meeting, first, action, **extra)
    assert response.status_code == status
    assert "Erreur : " in text_of(response) and "Question n°" in text_of(response)
    before = [(q.id, q.state) for q in questions()]
    assert all(state in (Q.NEW, Q.MERGED, Q.KEPT) for _, state in before)
    assert not [e for e in actions("question.answer")]


def test_a_question_of_a_cancelled_registration_or_another_meeting_is_not_found(
    app, staff_client, asked
):
    meeting, _ = asked
    [hidden] = [q for q in questions() if q.text == "Retirée"]
    assert _act(staff_client, meeting, hidden, "keep").status_code == 404


def test_staff_pages_need_a_signed_in_account(app, client, asked):
    meeting, (first, *_rest) = asked
    for response in (
        client.get(f"/admin/seances/{meeting.id}/questions"),
        client.get(f"/admin/seances/{meeting.id}/questions.xlsx"),
        _act(client, meeting, first, "keep"),
    ):
        assert response.status_code == 303 and "/admin/connexion" in response.headers["Location"]
    assert questions()[0].state is Q.NEW


def test_export_for_the_speaker_names_nobody(app, staff_client, asked):
    meeting, (first, second, _third) = asked
    actor = create_staff("autre@irev.fr")
    service.keep(first, actor)
    service.merge(second, first, actor)
    db.session.commit()

    plain = staff_client.get(f"/admin/seances/{meeting.id}/questions.xlsx")
    assert plain.status_code == 200
    rows = list(load_workbook(io.BytesIO(plain.data))["Questions"].values)
    assert rows[0] == ("N°", "Question", "Personnes", "Mandats", "Questions regroupées", "État")
    assert rows[1] == (
        first.id,
        "Quel calendrier ?",
        2,
        "Adjoint(e) au maire, Maire",
        "Quel planning ?",
        "retenue",
    )
    assert len(rows) == 2  # the new question is not sent yet
    everything = " ".join(str(v) for row in rows for v in row)
    assert "Vasseur" not in everything and "Élise" not in everything and "@" not in everything
    assert "Bruay" not in everything

    with_communes = staff_client.get(f"/admin/seances/{meeting.id}/questions.xlsx?communes=1")
    rows = list(load_workbook(io.BytesIO(with_communes.data))["Questions"].values)
    assert rows[0][4] == "Communes ou intercommunalités"
    assert rows[1][4] == "Commune de Bruay 0, Commune de Bruay 1"
    assert "Vasseur" not in " ".join(str(v) for row in rows for v in row)
    exports = actions("question.export")
    assert [e.after["communes"] for e in exports] == [False, True]

    printed = text_of(staff_client.get(f"/admin/seances/{meeting.id}/questions/imprimer"))
    assert "Quel calendrier ?" in printed and "Quel planning ?" in printed
    assert "Vasseur" not in printed and "Quels moyens ?" not in printed


def test_erasing_a_person_deletes_their_questions(app, asked):
    _meeting, (first, second, _third) = asked
    actor = create_staff("autre@irev.fr")
    service.merge(second, first, actor)
    db.session.commit()
    person = first.registration.person
    exported = gdpr_export.export(person)
    assert [q["question"] for q in exported["questions_intervenant"]] == ["Quel calendrier ?"]

    gdpr.erase(person, actor)
    db.session.commit()
    remaining = {q.text: (q.state, q.merged_into_id) for q in questions()}
    assert "Quel calendrier ?" not in remaining
    assert remaining["Quel planning ?"] == (Q.NEW, None)  # stands alone again
    assert remaining["Quels moyens ?"] == (Q.NEW, None)


def test_the_inline_check_explains_a_question_too_long(app, client):
    season()
    response = client.post(
        "/inscription/valider",
        data=form_data("seance-ouverte", speaker_question="q" * 1001),
        headers={"HX-Request": "true", "HX-Trigger-Name": "speaker_question"},
    )
    html = text_of(response)
    assert response.status_code == 200 and not html.lstrip().startswith("<!doctype")
    assert 'id="speaker_question-error"' in html
    assert "elle doit en faire 1 000 au plus" in html
    assert questions() == []
