"""Attestations de participation: PDF content, codes, the public check, self-service download."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from irev.extensions import db
from irev.models import Attestation, AuditEvent, RegistrationState, utcnow
from irev.services import attestations
from irev.tokens import make_token
from irev.typography import french
from tests import factories
from tests.factories import paris


@pytest.fixture
def official():
    """An official who attended two meetings in 2026 (one timed by Zoom), missed a third."""
    person = factories.create_person(
        email="camille.martin@roubaix.example",
        first_name="Camille",
        last_name="Martin",
        organisation="Commune de Roubaix",
        mandate="adjoint",
        phone="06 12 34 56 78",
    )
    programme = factories.create_programme(year=2026)
    first = factories.create_meeting(
        programme=programme, title="Les conseils citoyens", starts_at=paris(2026, 4, 1, 17)
    )
    second = factories.create_meeting(
        programme=programme, title="L’emploi des jeunes", starts_at=paris(2026, 5, 6, 17)
    )
    missed = factories.create_meeting(
        programme=programme, title="Séance manquée", starts_at=paris(2026, 6, 3, 17)
    )
    regs = {
        "first": factories.create_registration(
            meeting=first, person=person, attended=True, attended_minutes=112
        ),
        "second": factories.create_registration(meeting=second, person=person, attended=True),
        "missed": factories.create_registration(meeting=missed, person=person, attended=False),
    }
    db.session.commit()
    return person, regs


def pdf_text(body: bytes) -> str:
    """Return the text of every page of a PDF, spaces normalised."""
    reader = PdfReader(io.BytesIO(body))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return text.replace("\u00a0", " ")


def manage_path(person) -> str:
    """Return the person's self-service page."""
    return f"/inscription/gerer/{make_token('manage', {'p': person.id, 'v': person.link_version})}"


def test_meeting_attestation_states_who_what_when_and_how_long(app, official):
    person, regs = official
    attestation = attestations.for_meeting(regs["first"], person)
    db.session.commit()
    text = pdf_text(attestations.render_pdf(attestation))
    assert "Attestation de participation" in text
    assert "Camille Martin" in text
    assert "Adjoint(e) au maire" in text
    assert "Commune de Roubaix" in text
    assert "« Les conseils citoyens »" in text
    assert "mercredi 1er avril 2026, de 17 h à 19 h" in text
    assert "Temps de présence : 1 h 52 min" in text
    assert "Morgane Petit, directrice de l’IREV" in text
    code = attestations.format_code(attestation.code)
    assert f"Code de vérification : {code}" in text
    assert "http://irev.test/attestations/verifier" in text
    assert "L’emploi des jeunes" not in text and "06 12 34 56 78" not in text
    assert "camille.martin@roubaix.example" not in text


def test_yearly_summary_lists_the_meetings_attended(app, official):
    person, _ = official
    text = pdf_text(attestations.render_pdf(attestations.for_year(person, 2026, person)))
    assert "Attestation de participation – année 2026" in text
    assert "« Les conseils citoyens »" in text and "« L’emploi des jeunes »" in text
    assert "Séance manquée" not in text
    assert "présence constatée par l’équipe (durée non mesurée)" in text
    assert "Nombre de séances suivies en 2026 : 2" in text


@pytest.mark.parametrize("app_config", [{"IREV_ATTESTATION_SIGNATORY": "Léa Roux, présidente"}])
def test_the_signatory_is_a_setting(app, official, app_config):
    person, regs = official
    text = pdf_text(attestations.render_pdf(attestations.for_meeting(regs["first"], person)))
    assert "Pour l’IREV : Léa Roux, présidente" in text


def test_no_attestation_without_presence(app, official):
    person, regs = official
    with pytest.raises(attestations.AttestationError, match="Aucune présence"):
        attestations.for_meeting(regs["missed"], person)
    with pytest.raises(
        attestations.AttestationError, match="Aucune présence n’est enregistrée en 2025"
    ):
        attestations.for_year(person, 2025, person)
    assert attestations.attended_years(person) == [2026]


def test_same_statement_same_code_and_a_change_gives_a_new_one(app, official):
    person, regs = official
    first = attestations.for_meeting(regs["first"], person)
    assert attestations.for_meeting(regs["first"], person).code == first.code
    regs["first"].attended_minutes = 95  # a corrected report
    second = attestations.for_meeting(regs["first"], person)
    db.session.commit()
    assert second.code != first.code
    assert re.fullmatch(f"[{attestations.CODE_ALPHABET}]{{12}}", second.code)
    # The old code still confirms what it stated then.
    assert attestations.find(first.code).meetings[0].minutes == 112
    events = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "attestation.issue")
    ).all()
    assert len(events) == 2 and events[0].actor_type == "person"


# --- Public verification ------------------------------------------------------------------


def test_verification_page_confirms_what_the_attestation_states(client, official):
    person, regs = official
    attestation = attestations.for_meeting(regs["first"], person)
    db.session.commit()
    typed = attestations.format_code(attestation.code).lower().replace("-", " ")
    response = client.get("/attestations/verifier", query_string={"code": typed})
    html = response.get_data(as_text=True).replace("\u00a0", " ")
    assert response.status_code == 200
    assert "Attestation authentique" in html
    assert "Camille Martin" in html and "Commune de Roubaix" in html
    assert "Adjoint(e) au maire" in html
    assert "Les conseils citoyens" in html and "1 h 52 min" in html
    assert "camille.martin@roubaix.example" not in html and "06 12 34 56 78" not in html
    assert "L’emploi des jeunes" not in html
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_verification_page_without_a_code_shows_the_form(client):
    response = client.get("/attestations/verifier")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<label for="code">Code de vérification</label>' in html
    assert 'method="get"' in html and "Il y a un problème" not in html


@pytest.mark.parametrize(
    ("code", "status", "message"),
    [
        ("", 422, "Saisissez le code de 12 caractères"),
        ("ABCD", 422, "Saisissez le code de 12 caractères"),
        ("ABCD-EFGH-JK\x00N", 400, "le caractère nul"),  # refused before any view
        ("ABCD-EFGH-JKM0", 422, "Saisissez le code de 12 caractères"),  # 0 is never used
        ("9" * 5000, 422, "Saisissez le code de 12 caractères"),
        ("ABCD-EFGH-JKMN", 404, "Aucune attestation ne correspond à ce code"),
    ],
)
def test_bad_codes_get_a_french_4xx(client, code, status, message):
    response = client.get("/attestations/verifier", query_string={"code": code})
    html = response.get_data(as_text=True)
    assert response.status_code == status
    assert french(message) in html
    if status != 400:  # public pages are typeset: a no-break space before the colon
        assert f"<title>{french('Erreur : ')}" in html and 'aria-invalid="true"' in html


def test_an_erased_person_s_attestation_no_longer_shows_anything(client, official):
    person, regs = official
    attestation = attestations.for_meeting(regs["first"], person)
    person.first_name, person.last_name, person.anonymised_at = "", "", utcnow()
    db.session.commit()
    html = client.get("/attestations/verifier", query_string={"code": attestation.code}).get_data(
        as_text=True
    )
    assert "ne peut plus être vérifiée" in html
    assert "Les conseils citoyens" not in html


# --- Self-service ---------------------------------------------------------------------------


def test_self_service_page_offers_attestations_for_meetings_attended(client, official):
    person, regs = official
    html = client.get(manage_path(person)).get_data(as_text=True)
    assert f"/attestations/seance/{regs['first'].id}" in html
    assert f"/attestations/seance/{regs['second'].id}" in html
    assert f"/attestations/seance/{regs['missed'].id}" not in html
    assert "Télécharger le récapitulatif 2026 (PDF," in html


def test_self_service_downloads_the_pdf(client, official):
    person, regs = official
    path = f"{manage_path(person)}/attestations/seance/{regs['first'].id}"
    response = client.post(path)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert 'filename="attestation-2026-04-01.pdf"' in response.headers["Content-Disposition"]
    stored = db.session.scalar(db.select(Attestation))
    assert attestations.format_code(stored.code) in pdf_text(response.data)
    yearly = client.post(f"{manage_path(person)}/attestations/2026")
    assert yearly.status_code == 200 and "L’emploi des jeunes" in pdf_text(yearly.data)


def test_self_service_refuses_what_is_not_the_person_s_or_not_attended(client, official):
    person, regs = official
    base = manage_path(person)
    refused = client.post(f"{base}/attestations/seance/{regs['missed'].id}")
    assert refused.status_code == 303
    page = client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "Aucune présence n’est enregistrée pour cette séance." in page
    other = factories.create_registration(
        state=RegistrationState.SEATED, attended=True, meeting=regs["first"].meeting
    )
    db.session.commit()
    assert client.post(f"{base}/attestations/seance/{other.id}").status_code == 404
    assert client.post(f"{base}/attestations/seance/{2**70}").status_code == 404
    assert client.post(f"{base}/attestations/2019").status_code == 303
    assert client.get(f"{base}/attestations/seance/{regs['first'].id}").status_code == 405
    forged = "/inscription/gerer/not-a-token/attestations/2026"
    assert client.post(forged).status_code == 400  # a link that was never signed
    assert db.session.scalar(db.select(db.func.count(Attestation.id))) == 0


def test_the_whole_chain_from_report_to_verified_attestation(staff_client, official):
    """Import a report, download the attestation, check its code: one story end to end."""
    person, _ = official
    meeting = factories.create_meeting(title="Séance avec rapport", starts_at=paris(2026, 9, 2, 17))
    registration = factories.create_registration(meeting=meeting, person=person)
    db.session.commit()
    report = (
        "Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest\n"
        "Camille Martin,camille.martin@roubaix.example,09/02/2026 05:00:00 PM,"
        "09/02/2026 06:30:00 PM,90,Yes\n"
    )
    staff_client.post(
        f"/admin/seances/{meeting.id}/presence/rapport",
        data={"report": (io.BytesIO(report.encode()), "r.csv")},
        content_type="multipart/form-data",
    )
    response = staff_client.post(f"{manage_path(person)}/attestations/seance/{registration.id}")
    text = pdf_text(response.data)
    assert "Temps de présence : 1 h 30 min" in text
    code = re.search(r"Code de vérification : ([A-Z0-9-]{14})", text).group(1)
    html = staff_client.get("/attestations/verifier", query_string={"code": code}).get_data(
        as_text=True
    )
    assert "Attestation authentique" in html and "Séance avec rapport" in html
