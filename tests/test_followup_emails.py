"""Follow-up after a meeting: previewed counts and messages, refused before the end, sent once
per person through the outbox, received by a real SMTP server split by attendance, with the
attestation attached when the setting says so, and erasure stopping only the erased person's."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from irev.extensions import db
from irev.models import (
    Attestation,
    AuditEvent,
    EmailStatus,
    OutboundEmail,
    RegistrationState,
    utcnow,
)
from irev.services import followup, gdpr, questionnaire, resources, sending
from tests.admin_helpers import create_staff

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def app_config(smtp_server, tmp_path):
    return {**smtp_server.app_config(), "IREV_RESOURCES_DIR": str(tmp_path / "ressources")}


def plain(value) -> str:
    return str(value).replace("\u202f", " ").replace("\xa0", " ")


def texts(received) -> tuple[str, str]:
    message = received.message
    return (
        plain(message.get_body(preferencelist=("plain",)).get_content()),
        plain(message.get_body(preferencelist=("html",)).get_content()),
    )


def page(response) -> str:
    return plain(response.get_data(as_text=True))


@pytest.fixture
def scene(create_programme, create_meeting, create_person, create_registration):
    """A meeting that ended yesterday: two present, one absent, one not marked, one waiting,
    one who cancelled; a file and a replay; the cycle's next meeting open to registration."""
    programme = create_programme(year=2026)
    start = utcnow() - timedelta(days=1, hours=3)
    meeting = create_meeting(programme=programme, title="Les conseils citoyens", starts_at=start)
    coming = create_meeting(programme=programme, title="L’emploi des jeunes")
    people = {}
    for key, values in {
        "present": dict(attended=True, attended_minutes=95),
        "present2": dict(attended=True),
        "absent": dict(attended=False),
        "unknown": {},
    }.items():
        person = create_person(
            first_name=key.capitalize(), last_name="Martin", civilite="madame", mandate="maire"
        )
        create_registration(meeting=meeting, person=person, **values)
        people[key] = person
    people["waiting"] = create_registration(meeting=meeting, state=RegistrationState.WAITING).person
    people["cancelled"] = create_registration(
        meeting=meeting, state=RegistrationState.CANCELLED_BY_PERSON
    ).person
    staff = create_staff("supports@irev.fr")
    resources.add_file(meeting, "diaporama.pdf", PDF, "Diaporama de l’intervention", staff)
    resources.set_replay(meeting, "https://video.example.fr/replay-1", "", staff)
    db.session.commit()
    return meeting, coming, people


def followup_rows() -> list[OutboundEmail]:
    return list(
        db.session.scalars(
            select(OutboundEmail)
            .where(OutboundEmail.kind.in_(followup.KINDS))
            .order_by(OutboundEmail.id)
        )
    )


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_the_preview_counts_by_presence_and_shows_both_messages(staff_client, scene, app):
    meeting, _coming, _people = scene
    app.config["IREV_ATTESTATION_BY_EMAIL"] = True  # the sample draws an attestation
    audits, attestations = count(AuditEvent), count(Attestation)
    html = page(staff_client.get(f"/admin/seances/{meeting.id}/suivi"))
    assert "2 personnes présentes : « Merci de votre participation »" in html
    assert "1 personne absente : « Nous vous avons manqué »" in html
    assert "1 personne dont la présence n’est pas renseignée : pas d’e-mail" in html
    assert "Objet : <strong>Merci de votre participation : « Les conseils citoyens »" in html
    assert "Objet : <strong>Nous vous avons manqué : « Les conseils citoyens »" in html
    assert "Madame la Maire," in html and "Diaporama de l’intervention" in html
    assert "https://video.example.fr/replay-1" in html and "L’emploi des jeunes" in html
    assert "Pièce jointe : attestation-" in html
    assert html.count('<pre class="followup-preview">') == 2
    assert "Envoyer 3 messages de suivi" in html
    # Nothing kept: no e-mail, no audit row, no attestation drawn for the sample.
    assert followup_rows() == [] and count(AuditEvent) == audits
    assert count(Attestation) == attestations


@pytest.mark.parametrize(
    ("shift", "status", "message"),
    [
        (timedelta(days=3), None, "s’envoient une fois la séance terminée"),
        (timedelta(hours=-1), None, "s’envoient une fois la séance terminée"),  # under way
        (None, "cancelled", "Cette séance a été annulée"),
        (None, "draft", "Cette séance n’est pas publiée"),
    ],
)
def test_refused_before_the_end_or_for_a_cancelled_meeting(
    staff_client, create_meeting, create_registration, shift, status, message
):
    from irev.models import MeetingStatus

    start = utcnow() + shift if shift else utcnow() - timedelta(days=2)
    meeting = create_meeting(starts_at=start)
    if status:
        meeting.status = MeetingStatus(status)
    create_registration(meeting=meeting, attended=True)
    db.session.commit()
    shown = staff_client.get(f"/admin/seances/{meeting.id}/suivi")
    assert shown.status_code == 200 and message in page(shown)
    assert "Envoyer" not in page(shown)
    refused = staff_client.post(f"/admin/seances/{meeting.id}/suivi")
    assert refused.status_code == 409 and message in page(refused)
    assert followup_rows() == []
    with pytest.raises(followup.FollowupError):
        followup.send(meeting, None)


def test_sent_once_split_by_attendance_as_received(staff_client, client, scene, smtp_server):
    meeting, coming, people = scene
    url = f"/admin/seances/{meeting.id}/suivi"
    first = staff_client.post(url)
    assert first.status_code == 303
    again = staff_client.post(url)  # a double click, or a second confirmation
    assert again.status_code == 303
    rows = followup_rows()
    assert len(rows) == 3
    assert {r.dedupe_key for r in rows} == {
        f"followup:{meeting.id}:{people[k].id}" for k in ("present", "present2", "absent")
    }
    flashed = page(staff_client.get(url))
    assert "Aucun nouveau message" in flashed
    assert "3 personnes ont déjà reçu leur message de suivi" in flashed
    sends = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "followup.send"))
    [audit] = sends.all()
    assert audit.after["present"] == 2 and audit.after["absent"] == 1
    assert audit.after["not_marked"] == 1

    sending.run_pass()
    sending.run_pass()  # a second pass sends nothing more
    assert len(smtp_server.received) == 3
    for key in ("unknown", "waiting", "cancelled"):
        assert smtp_server.to(people[key].email) == []

    [thanks] = smtp_server.to(people["present"].email)
    subject = plain(thanks.message["Subject"])
    assert subject.startswith("Merci de votre participation : « Les conseils citoyens »")
    text, html = texts(thanks)
    for part in (text, html):
        assert "Madame la Maire," in part
        assert "Diaporama de l’intervention" in part and "PDF, 1 ko" in part
        assert "https://video.example.fr/replay-1" in part
        assert "Votre attestation de participation" in part and "/inscription/gerer/" in part
        assert "Votre avis" in part and "/inscription/questionnaire/" in part
        assert "L’emploi des jeunes" in part
    assert [p.get_content_type() for p in thanks.message.iter_attachments()] == []
    [absent] = smtp_server.to(people["absent"].email)
    assert plain(absent.message["Subject"]).startswith("Nous vous avons manqué : « Les conseils")
    text, html = texts(absent)
    for part in (text, html):
        assert "nous n’avons pas eu le plaisir de vous y retrouver" in part
        assert "https://video.example.fr/replay-1" in part
        assert f"/inscription?seance={coming.slug}" in part  # register for the next one
        assert "attestation" not in part.lower()

    # The file link in the e-mail opens the file for that person.
    link = next(w for w in texts(thanks)[0].split() if "/ressources/" in w)
    download = client.get(link.replace("http://irev.test", ""))
    assert download.status_code == 200 and download.data == PDF


def test_the_attestation_is_attached_when_the_setting_says_so(
    staff_client, scene, smtp_server, app
):
    meeting, _coming, people = scene
    app.config["IREV_ATTESTATION_BY_EMAIL"] = True
    staff_client.post(f"/admin/seances/{meeting.id}/suivi")
    rows = followup_rows()
    # The row says "attach"; it holds no PDF (drawn when the worker renders the message).
    assert [r.context.get(followup.ATTACH_KEY) for r in rows] == [True, True, None]
    assert all(len(str(r.context)) < 300 for r in rows)
    sending.run_pass()
    [thanks] = smtp_server.to(people["present"].email)
    [attachment] = list(thanks.message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename().startswith("attestation-")
    reader = PdfReader(io.BytesIO(attachment.get_content()))
    pdf = plain("\n".join(p.extract_text() for p in reader.pages))
    assert "Attestation de participation" in pdf
    assert "Present Martin" in pdf and "Les conseils citoyens" in pdf and "1 h 35 min" in pdf
    text, html = texts(thanks)
    assert "Elle est jointe à ce message (fichier PDF)." in text
    assert "Elle est jointe à ce message (fichier PDF)." in html
    [absent] = smtp_server.to(people["absent"].email)
    assert list(absent.message.iter_attachments()) == []
    # The attestation drawn at sending is the one the person would download.
    assert (
        db.session.scalar(
            select(func.count(Attestation.id)).where(Attestation.person_id == people["present"].id)
        )
        == 1
    )


def test_someone_marked_later_gets_theirs_at_the_next_confirmation(staff_client, scene):
    meeting, _coming, people = scene
    staff_client.post(f"/admin/seances/{meeting.id}/suivi")
    registration = people["unknown"].registrations[0]
    registration.attended = True
    db.session.commit()
    html = page(staff_client.get(f"/admin/seances/{meeting.id}/suivi"))
    assert "1 personne présente" in html and "Envoyer 1 message de suivi" in html
    staff_client.post(f"/admin/seances/{meeting.id}/suivi")
    assert len(followup_rows()) == 4


def test_two_confirmations_in_one_transaction_queue_each_person_once(scene):
    meeting, _coming, _people = scene
    first = followup.send(meeting, None)
    second = followup.send(meeting, None)
    assert (first.present, first.absent, first.unknown) == (2, 1, 1)
    assert second.total == 0
    assert len(followup_rows()) == 3


def test_only_attendees_who_have_not_answered_are_asked_for_their_opinion(
    staff_client, scene, smtp_server
):
    meeting, _coming, people = scene
    [answered] = [r for r in people["present2"].registrations if r.meeting_id == meeting.id]
    ratings = {question.key: 4 for question in questionnaire.current_set().ratings}
    questionnaire.save_answer(answered, ratings, "")
    db.session.commit()
    staff_client.post(f"/admin/seances/{meeting.id}/suivi")
    sending.run_pass()
    text, html = texts(smtp_server.to(people["present"].email)[0])
    assert "Votre avis" in text and "/inscription/questionnaire/" in html
    text, _html = texts(smtp_server.to(people["present2"].email)[0])
    assert "Votre avis" not in text and "/inscription/questionnaire/" not in text
    text, _html = texts(smtp_server.to(people["absent"].email)[0])
    assert "questionnaire" not in text


def test_erasure_before_sending_stops_only_the_erased_person(staff_client, scene, smtp_server):
    meeting, _coming, people = scene
    staff_client.post(f"/admin/seances/{meeting.id}/suivi")
    gdpr.erase(people["present"], create_staff("dpo@irev.fr"))
    db.session.commit()
    sending.run_pass()
    assert {r.to for r in smtp_server.received} == {
        people["present2"].email,
        people["absent"].email,
    }
    erased = [r for r in followup_rows() if r.person_id == people["present"].id]
    assert [r.status for r in erased] == [EmailStatus.FAILED]
    assert erased[0].raw_message is None and erased[0].context == {}
    assert len(resources.files_of(meeting)) == 1 and resources.replay_of(meeting) is not None


def test_a_message_no_longer_true_is_skipped(staff_client, scene, smtp_server):
    meeting, _coming, people = scene
    staff_client.post(f"/admin/seances/{meeting.id}/suivi")
    people["absent"].registrations[0].state = RegistrationState.CANCELLED_BY_ORGANISER
    db.session.commit()
    report = sending.run_pass()
    assert report.sending.skipped == 1
    assert smtp_server.to(people["absent"].email) == []


def test_the_e_mail_log_names_the_new_kinds(staff_client, scene):
    meeting, _coming, _people = scene
    staff_client.post(f"/admin/seances/{meeting.id}/suivi")
    html = page(staff_client.get("/admin/emails"))
    assert "Après la séance : merci (présent·e)" in html
    assert "Après la séance : nous vous avons manqué (absent·e)" in html
    journal = page(staff_client.get("/admin/journal"))
    assert "Messages de suivi envoyés après la séance" in journal
    assert "Support ajouté à la séance" in journal and "Lien du replay enregistré" in journal


@pytest.mark.postgresql
def test_two_colleagues_confirming_at_once_queue_each_person_once(app, scene):
    """Both read who is still to be told, then both insert: the unique key keeps one row each."""
    import threading

    from irev.models import Meeting

    meeting_id = scene[0].id
    db.session.remove()
    ready = threading.Barrier(2)
    results, errors = [], []

    def confirm() -> None:
        with app.app_context():
            try:
                meeting = db.session.get(Meeting, meeting_id)
                followup.plan(meeting)  # both see three people still to be told
                ready.wait(timeout=10)
                results.append(followup.send(meeting, None).total)
                db.session.commit()
            except Exception as error:  # reported below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(results) == [0, 3]
    assert len(followup_rows()) == 3
    sends = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "followup.send"))
    assert len(sends.all()) == 1
