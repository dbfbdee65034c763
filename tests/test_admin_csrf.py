"""The staff area with CSRF protection and rate limits switched on, as in production."""

from __future__ import annotations

import pytest

from irev.models import RegistrationState
from tests.admin_helpers import PASSWORD, create_staff, csrf_token, sign_in


@pytest.fixture
def app_config() -> dict:
    return {
        "WTF_CSRF_ENABLED": True,
        "RATELIMIT_ENABLED": True,
        "IREV_SIGN_IN_RATE_LIMIT": "3 per minute",
    }


def test_sign_in_form_refuses_a_post_without_its_token(client):
    create_staff()
    response = client.post(
        "/admin/connexion", data={"email": "equipe@irev.fr", "password": PASSWORD}
    )
    assert response.status_code == 400
    assert "Le formulaire a expiré" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 303


def test_admin_actions_refuse_a_post_without_the_token(client, create_registration):
    create_staff()
    registration = create_registration(state=RegistrationState.PENDING_APPROVAL)
    from irev.extensions import db

    db.session.commit()
    assert sign_in(client).status_code == 303
    url = f"/admin/inscriptions/{registration.id}/valider"
    refused = client.post(url, headers={"HX-Request": "true"})
    assert refused.status_code == 400
    db.session.refresh(registration)
    assert registration.state is RegistrationState.PENDING_APPROVAL
    # The token htmx sends as a header (from the layout's data-hx-headers) is accepted.
    page = client.get(f"/admin/seances/{registration.meeting_id}/inscriptions")
    token = csrf_token(page.get_data(as_text=True))
    accepted = client.post(url, headers={"HX-Request": "true", "X-CSRFToken": token})
    assert accepted.status_code == 200
    db.session.refresh(registration)
    assert registration.state is RegistrationState.SEATED


@pytest.mark.parametrize(
    "url",
    [
        "/admin/deconnexion",
        "/admin/seances/nouvelle",
        "/admin/programme",
        "/admin/emails/1/renvoyer",
    ],
)
def test_every_form_needs_the_token(client, url):
    create_staff()
    sign_in(client)
    response = client.post(url, data={"title": "x"})
    assert response.status_code == 400


def test_sign_in_attempts_are_rate_limited(client):
    create_staff()
    for _ in range(3):
        assert sign_in(client, password="wrong password!").status_code == 422
    limited = sign_in(client)
    assert limited.status_code == 429
    assert "Trop de tentatives" in limited.get_data(as_text=True)
