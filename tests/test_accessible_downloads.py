"""Downloads say what they are (RGAA 13.3): every .ics link states its format and its real
size; every attestation PDF states its format and size, and has an accessible version (the
same attestation as an HTML page)."""

from __future__ import annotations

import math
import re

from irev.extensions import db
from irev.models import Attestation, MeetingStatus
from irev.services import attestations
from tests import factories, test_attestations
from tests.factories import paris
from tests.test_attestations import manage_path, pdf_text
from tests.test_public import get, link_texts

official = test_attestations.official
SIZE = re.compile(r"\(fichier \.ics, (\d+) ko\)")


def stated_size(text: str) -> int:
    """Return the size in ko a link text states."""
    found = SIZE.search(text.replace("\u00a0", " "))
    assert found, text
    return int(found.group(1))


def kilobytes(body: bytes) -> int:
    """Return a size as the links state it: ko of 1,024 bytes, rounded up."""
    return max(1, math.ceil(len(body) / 1024))


def test_calendar_links_state_the_format_and_the_real_size(client):
    programme = factories.create_programme()
    for n in range(8):
        factories.create_meeting(
            programme=programme, description="Une description assez longue. " * 30 * (n + 1)
        )
    meeting = factories.create_meeting(programme=programme, description="Courte.")
    factories.create_meeting(programme=programme, status=MeetingStatus.DRAFT)
    db.session.commit()
    _, page = get(client, f"/seances/{meeting.slug}")
    link = next(t for t in link_texts(page.find("main")) if "fichier .ics" in t)
    assert stated_size(link) == kilobytes(client.get(f"/seances/{meeting.slug}.ics").data)
    whole = client.get("/calendrier.ics").data
    assert kilobytes(whole) > 1  # the cycle's file is larger than one meeting's
    for path in ("/", "/plan-du-site"):
        _, page = get(client, path)
        texts = [t for t in link_texts(page.find("main")) if "fichier .ics" in t]
        assert texts and all(stated_size(t) == kilobytes(whole) for t in texts), path


def test_attestation_buttons_state_format_and_size_and_the_pdf_holds_to_it(client, official):
    person, regs = official
    extra = factories.create_programme(year=2026)
    for month in range(7, 13):  # a full year: the largest summary a person can ask for
        factories.create_registration(
            person=person,
            attended=True,
            meeting=factories.create_meeting(
                programme=extra, title="Séance " * 40, starts_at=paris(2026, month, 2, 17)
            ),
        )
    db.session.commit()
    html = client.get(manage_path(person)).get_data(as_text=True).replace("\u00a0", " ")
    assert "Télécharger mon attestation de participation (PDF, moins de 5 ko)" in html
    assert "Télécharger le récapitulatif 2026 (PDF, moins de 5 ko)" in html
    yearly = client.post(f"{manage_path(person)}/attestations/2026")
    single = client.post(f"{manage_path(person)}/attestations/seance/{regs['first'].id}")
    assert yearly.mimetype == single.mimetype == "application/pdf"
    assert len(yearly.data) < 5 * 1024 and len(single.data) < 5 * 1024


def test_each_attestation_opens_as_an_html_page_stating_what_the_pdf_states(client, official):
    person, regs = official
    base = manage_path(person)
    html = client.get(base).get_data(as_text=True)
    assert 'name="format" value="page"' in html
    assert "Lire le récapitulatif 2026 en page web" in html
    response = client.post(
        f"{base}/attestations/seance/{regs['first'].id}", data={"format": "page"}
    )
    assert response.status_code == 303
    stored = db.session.scalar(db.select(Attestation))
    code = attestations.format_code(stored.code)
    assert response.location.endswith(f"/attestations/verifier?code={code}")
    _, page = get(client, response.location)
    text = page.find("main").text
    assert "Attestation authentique" in text and "Camille Martin" in text
    assert "Les conseils citoyens" in text and "Commune de Roubaix" in text
    # The PDF asked for afterwards is the same attestation (same code, nothing new issued).
    pdf = client.post(f"{base}/attestations/seance/{regs['first'].id}")
    assert code in pdf_text(pdf.data)
    assert db.session.scalar(db.select(db.func.count(Attestation.id))) == 1
    yearly = client.post(f"{base}/attestations/2026", data={"format": "page"})
    assert yearly.status_code == 303 and "/attestations/verifier?code=" in yearly.location
    _, summary = get(client, yearly.location)
    assert "L’emploi des jeunes" in summary.find("main").text
