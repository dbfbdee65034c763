"""The e-mail log (states, preview, send again, failures filter) and the read-only audit log."""

from __future__ import annotations

from datetime import timedelta

import pytest

from irev.extensions import db
from irev.models import AuditEvent, EmailStatus, OutboundEmail, RegistrationState, utcnow
from irev.services import audit, outbox, sending

S = RegistrationState


@pytest.fixture
def emails(create_registration):
    """A sent e-mail (with the exact message), a failed one and a pending one."""
    registration = create_registration(state=S.SEATED)
    for position, kind in enumerate(
        ("approved_to_registrant", "rejected_to_registrant", "seated_to_registrant")
    ):
        outbox.enqueue(
            kind,
            registration.person.email,
            dedupe_key=f"log:{kind}",
            registration=registration,
            context={"reason": "Motif <b>gras</b>"},
        )
        db.session.commit()
        if position == 0:
            assert sending.send_pending().captured == 1  # the worker's own path
    sent, failed, pending = db.session.scalars(
        db.select(OutboundEmail).order_by(OutboundEmail.id)
    ).all()
    failed.status = EmailStatus.FAILED
    failed.attempts = 7
    failed.last_error = "550 5.1.1 Destinataire inconnu"
    db.session.commit()
    return sent, failed, pending


def test_the_log_lists_every_state_and_filters_failures(staff_client, emails):
    sent, failed, _ = emails
    html = staff_client.get("/admin/emails").get_data(as_text=True)
    assert "3 e-mails" in html
    assert "Envoyé" in html and "Échec" in html and "En attente" in html
    assert "550 5.1.1 Destinataire inconnu" in html
    assert "capturés ici" in html  # no MAIL_SERVER: development capture
    # A message not rendered yet has no subject: staff read what it is, in French.
    assert "Place réservée" in html
    assert ">seated_to_registrant<" not in html
    failures = staff_client.get("/admin/emails?etat=failed").get_data(as_text=True)
    assert "1 e-mail dans" in failures
    assert f"/admin/emails/{failed.id}" in failures
    assert f'/admin/emails/{sent.id}"' not in failures
    search = staff_client.get(f"/admin/emails?q={sent.to_address}").get_data(as_text=True)
    assert "3 e-mails" in search


def test_a_sent_email_shows_what_left(staff_client, emails):
    sent, _, _ = emails
    html = staff_client.get(f"/admin/emails/{sent.id}").get_data(as_text=True)
    assert "Le message tel qu'il est parti." in html
    assert "validé votre inscription" in html  # the text part
    assert f'src="/admin/emails/{sent.id}/apercu.html"' in html and "sandbox" in html
    assert "Message brut" in html and "Content-Type: multipart/" in html
    preview = staff_client.get(f"/admin/emails/{sent.id}/apercu.html")
    assert "sandbox" in preview.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in preview.headers["Content-Security-Policy"]
    assert preview.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "Votre inscription est validée" in preview.get_data(as_text=True)


def test_a_pending_email_is_previewed_as_it_would_leave(staff_client, emails):
    _, _, pending = emails
    html = staff_client.get(f"/admin/emails/{pending.id}").get_data(as_text=True)
    assert "Pas encore envoyé" in html
    assert "Renvoyer" not in html  # already waiting to leave


def test_send_again(staff_client, emails):
    sent, failed, _ = emails
    response = staff_client.post(f"/admin/emails/{failed.id}/renvoyer")
    assert response.status_code == 303
    db.session.expire_all()
    failed = db.session.get(OutboundEmail, failed.id)
    assert failed.status is EmailStatus.PENDING
    again = staff_client.post(f"/admin/emails/{sent.id}/renvoyer")
    copy_id = int(again.location.rsplit("/", 1)[1])
    copy = db.session.get(OutboundEmail, copy_id)
    assert copy.id != sent.id and copy.status is EmailStatus.PENDING
    assert db.session.get(OutboundEmail, sent.id).status is EmailStatus.SENT  # proof kept
    events = db.session.scalars(db.select(AuditEvent).filter_by(action="email.send_again")).all()
    assert [e.object_id for e in events] == [failed.id, sent.id]
    assert events[0].before == {"status": "failed"}


def test_the_audit_log_filters_and_never_changes(staff_client, create_meeting):
    meeting = create_meeting()
    old = audit.record(None, "meeting.update", meeting, before={"title": "A"}, after={"title": "B"})
    old.at = utcnow() - timedelta(days=40)
    audit.record(None, "registration.approve", meeting, after={"state": "seated"})
    db.session.commit()
    staff_client.get(f"/admin/seances/{meeting.id}/export.csv")  # audited as the staff member
    html = staff_client.get("/admin/journal").get_data(as_text=True)
    assert "3 actions." in html
    by_action = staff_client.get("/admin/journal?action=meeting.update").get_data(as_text=True)
    assert "1 action." in by_action and '<span class="kv__key">Titre</span> : A → B' in by_action
    by_actor = staff_client.get("/admin/journal?acteur=equipe@").get_data(as_text=True)
    assert "1 action." in by_actor and "Inscriptions exportées (CSV)" in by_actor
    today = utcnow().date().isoformat()
    recent = staff_client.get(f"/admin/journal?du={today}").get_data(as_text=True)
    assert "2 actions." in recent
    by_object = staff_client.get(f"/admin/journal?objet=meeting&numero={meeting.id}")
    assert "3 actions." in by_object.get_data(as_text=True)
    assert "1 action." in staff_client.get(
        f"/admin/journal?au={(utcnow() - timedelta(days=30)).date().isoformat()}"
    ).get_data(as_text=True)
    # Read-only: no form on the page, no route that writes, and the model refuses edits.
    main = html.split("<main")[1].split("</main>")[0]
    assert 'method="post"' not in main
    event = db.session.scalar(db.select(AuditEvent).filter_by(action="meeting.update"))
    event.action = "forged"
    with pytest.raises(ValueError, match="never edited"):
        db.session.commit()
    db.session.rollback()


def test_audit_routes_only_read(app):
    methods = {
        method
        for rule in app.url_map.iter_rules()
        if rule.endpoint == "admin.audit"
        for method in rule.methods
    }
    assert methods <= {"GET", "HEAD", "OPTIONS"}


def _journal_rows(html: str) -> str:
    """Return the table of the audit page (the filter lists name actions too)."""
    return html.split('<table class="table table--audit">')[1].split("</table>")[0]


def test_the_audit_log_speaks_french_with_names_and_links(staff_client, create_meeting):
    """Bug 5: sentences with the person's name, French states, links, and no raw token."""
    from irev.models import Person, Registration
    from tests.factories import create_person, create_registration
    from tests.registration_support import form_data

    meeting = create_meeting(title="L’eau potable en régie")
    moderated = create_meeting(title="Budget participatif")
    waiting = create_registration(
        meeting=moderated,
        person=create_person(first_name="Dominique", last_name="Lefèvre"),
        state=S.PENDING_APPROVAL,
    )
    db.session.commit()
    # A request sent through the public form (its row stores the live request key) ...
    assert staff_client.post("/inscription", data=form_data(meeting.slug)).status_code == 303
    request_event = db.session.scalar(
        db.select(AuditEvent).filter_by(action="registration.request")
    )
    request_key = request_event.after["request_key"]
    assert request_key
    # ... and an approval by staff, through its route.
    approval = staff_client.post(f"/admin/inscriptions/{waiting.id}/valider")
    assert approval.status_code == 303
    camille = db.session.scalar(db.select(Person).filter_by(last_name="Durand"))
    registration = db.session.get(Registration, waiting.id)
    assert registration.state is S.SEATED

    html = staff_client.get("/admin/journal").get_data(as_text=True)
    rows = _journal_rows(html)
    # Sentences, with each person's name linked to their page and each meeting to its list.
    assert "Inscription validée : " in rows
    assert f'<a href="/admin/personnes/{waiting.person_id}">Dominique Lefèvre</a>' in rows
    assert f'<a href="/admin/seances/{moderated.id}/inscriptions">« Budget participatif »' in rows
    assert "Demande d’inscription envoyée : " in rows
    assert f'<a href="/admin/personnes/{camille.id}">Camille Durand</a>' in rows
    assert f'<a href="/admin/seances/{meeting.id}/inscriptions">« L’eau potable en régie »' in rows
    # States in French, before and after.
    assert '<span class="kv__key">État</span> : À valider → Place attribuée' in rows
    # Nothing a developer would write, and never the live token.
    for raw in ("registration.approve", "registration.request", "pending_approval", "seated"):
        assert raw not in rows
    assert "n° " not in rows and "request_key" not in rows
    assert request_key not in html
    # The filters name actions and objects in French too (their values stay the stored ones).
    assert '<option value="registration.approve">Inscription validée</option>' in html
    assert '<option value="registration">Inscription</option>' in html


def test_the_audit_log_tells_rows_it_does_not_know_in_french(staff_client, create_meeting):
    """A writer added later (unknown action, unknown fields, a secret) still reads sanely."""
    meeting = create_meeting(title="Mobilités rurales")
    audit.record(
        None,
        "meeting.relocate",
        meeting,
        before={"room": "A"},
        after={"room": "B", "access_token": "s3cr3t-t0ken"},
    )
    db.session.commit()
    rows = _journal_rows(staff_client.get("/admin/journal").get_data(as_text=True))
    assert "Séance modifiée : " in rows and "« Mobilités rurales »" in rows
    assert "Le site (automatique)" in rows
    assert "room</span> : A → B" in rows
    assert "s3cr3t-t0ken" not in rows
