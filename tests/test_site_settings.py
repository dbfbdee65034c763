"""« Réglages »: an administrator sets the legal notice's details and the DPO from the web."""

from __future__ import annotations

import pytest

from irev.extensions import db
from irev.models import AuditEvent, SiteSetting, StaffRole
from irev.services import site_settings
from irev.typography import french
from tests.admin_helpers import create_staff, sign_in


@pytest.fixture
def app_config() -> dict:
    return {"IREV_HOST_NAME": "Hébergeur du fichier de configuration"}


def _form(**changes) -> dict:
    data = {
        "IREV_PUBLISHER_ADDRESS": "12 rue de la Ville, 59000 Lille",
        "IREV_HOST_NAME": "OVH SAS",
        "IREV_HOST_ADDRESS": "2 rue Kellermann, 59100 Roubaix",
        "IREV_HOST_PHONE": "1007",
        "IREV_DPO_EMAIL": "dpo@irev.fr",
    }
    data.update(changes)
    return data


def test_saved_settings_reach_the_public_pages_and_the_audit_log(staff_client, client):
    page = staff_client.get("/admin/reglages").get_data(as_text=True)
    assert 'value="Hébergeur du fichier de configuration"' in page  # the configured default
    response = staff_client.post("/admin/reglages", data=_form())
    assert response.status_code == 303
    legal = staff_client.get("/mentions-legales").get_data(as_text=True)
    assert french("12 rue de la Ville, 59000 Lille") in legal and "OVH SAS" in legal
    assert french("2 rue Kellermann") in legal
    data = staff_client.get("/donnees-personnelles").get_data(as_text=True)
    assert 'href="mailto:dpo@irev.fr"' in data
    [event] = db.session.scalars(db.select(AuditEvent).filter_by(action="settings.update"))
    assert event.before["IREV_HOST_NAME"] == "Hébergeur du fichier de configuration"
    assert event.after["IREV_HOST_NAME"] == "OVH SAS"
    journal = staff_client.get("/admin/journal").get_data(as_text=True)
    assert "Réglages modifiés" in journal
    # Nothing left « à compléter » on the dashboard.
    assert "à compléter" not in staff_client.get("/admin/").get_data(as_text=True)

    # The same values again: nothing changes, no second audit row.
    staff_client.post("/admin/reglages", data=_form())
    assert db.session.scalar(db.select(db.func.count(AuditEvent.id))) == 1
    # Emptied: back to the configured value (or nothing shown).
    staff_client.post("/admin/reglages", data=_form(IREV_HOST_NAME="", IREV_DPO_EMAIL=""))
    assert site_settings.value("IREV_HOST_NAME") == "Hébergeur du fichier de configuration"
    assert site_settings.value("IREV_DPO_EMAIL") == ""
    assert db.session.get(SiteSetting, "IREV_HOST_NAME") is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"IREV_DPO_EMAIL": "pas-une-adresse"}, "Saisissez une adresse e-mail valide"),
        ({"IREV_HOST_PHONE": "0" * 41}, "Saisissez au plus 40 caractères."),
        ({"IREV_HOST_NAME": "OVH\nSAS"}, "doit tenir sur une ligne"),
        ({"IREV_PUBLISHER_ADDRESS": "Lille\x00"}, "caractère"),
    ],
)
def test_bad_values_are_refused_in_french_and_nothing_is_saved(staff_client, changes, message):
    response = staff_client.post("/admin/reglages", data=_form(**changes))
    assert response.status_code in (400, 422)
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(SiteSetting.name))) == 0


def test_only_administration_opens_the_page(client):
    assert "/admin/connexion" in client.get("/admin/reglages").headers["Location"]
    create_staff("moderation@irev.fr", role=StaffRole.MODERATION)
    sign_in(client, "moderation@irev.fr")
    assert client.get("/admin/reglages").status_code == 403
    assert client.post("/admin/reglages", data=_form()).status_code == 403
    assert db.session.scalar(db.select(db.func.count(SiteSetting.name))) == 0
    assert 'href="/admin/reglages"' not in client.get("/admin/").get_data(as_text=True)
