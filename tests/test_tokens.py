"""Signed links: per-purpose salts, expiry, tampering."""

import pytest
from freezegun import freeze_time

from irev.tokens import ExpiredToken, InvalidToken, make_token, read_token


def test_round_trip(app):
    assert read_token("manage", make_token("manage", {"p": 3, "v": 0})) == {"p": 3, "v": 0}


def test_token_of_one_purpose_is_refused_for_another(app):
    with pytest.raises(InvalidToken):
        read_token("cancel", make_token("confirm", {"p": 3}))


def test_tampered_token_is_refused(app):
    token = make_token("confirm", {"p": 3})
    with pytest.raises(InvalidToken):
        read_token("confirm", token[:-2] + ("AA" if not token.endswith("AA") else "BB"))


def test_token_expires_after_seven_days(app):
    with freeze_time("2026-01-01 10:00:00"):
        token = make_token("confirm", {"p": 3})
    with freeze_time("2026-01-08 09:59:00"):
        assert read_token("confirm", token) == {"p": 3}
    with freeze_time("2026-01-08 10:01:00"), pytest.raises(ExpiredToken):
        read_token("confirm", token)


# --- Links as e-mailed: built on IREV_BASE_URL, revoked with the person's link_version --------


def _cancel_link_as_received(registration) -> str:
    """Send a seat e-mail through the worker and return the cancellation link it carries."""
    from email import message_from_string, policy

    from irev.extensions import db
    from irev.models import OutboundEmail
    from irev.services import outbox, sending

    outbox.enqueue(
        "seated_to_registrant",
        registration.person.email,
        dedupe_key=f"test:cancel-link:{registration.id}",
        registration=registration,
    )
    db.session.commit()
    assert sending.send_pending().captured == 1
    row = db.session.scalar(db.select(OutboundEmail).order_by(OutboundEmail.id.desc()))
    text = message_from_string(row.raw_message, policy=policy.default)
    body = text.get_body(preferencelist=("plain",)).get_content()
    return next(word for word in body.split() if "/inscription/annuler/" in word)


def test_a_revoked_cancel_link_no_longer_works(app, client, create_registration):
    from irev.extensions import db
    from irev.models import Registration, RegistrationState

    registration = create_registration(state=RegistrationState.SEATED)
    db.session.commit()
    link = _cancel_link_as_received(registration)
    assert link.startswith("http://irev.test/inscription/annuler/")
    path = link.removeprefix("http://irev.test")
    assert client.get(path).status_code == 200  # the page with its button

    registration.person.link_version += 1  # staff revoke the person's links
    db.session.commit()
    for response in (client.get(path), client.post(path)):
        assert response.status_code == 404
        assert "Lien plus valable" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Registration, registration.id).state is RegistrationState.SEATED


def test_a_cancel_link_without_version_is_refused(app, client, create_registration):
    from irev.extensions import db
    from irev.models import Registration, RegistrationState

    registration = create_registration(state=RegistrationState.SEATED)
    db.session.commit()
    old = make_token("cancel", {"r": registration.id})  # as links were made before versions
    response = client.post(f"/inscription/annuler/{old}")
    assert response.status_code == 404
    assert "Lien plus valable" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Registration, registration.id).state is RegistrationState.SEATED


def test_links_use_the_configured_address_whatever_the_request(app, create_registration):
    from irev.notifications import cancel_url, manage_url
    from irev.services.registrations import confirm_url

    registration = create_registration()
    person = registration.person
    with app.test_request_context("/", base_url="http://forged.example"):
        links = [manage_url(person), cancel_url(registration), confirm_url(person, "k")]
    assert [link.split("/inscription/")[0] for link in links] == ["http://irev.test"] * 3
    assert links[0].startswith("http://irev.test/inscription/gerer/")
    assert links[2].startswith("http://irev.test/inscription/confirmer/")


def test_links_keep_a_path_prefix_of_the_base_url(app, create_registration):
    from irev.notifications import manage_url
    from irev.urls import external_url

    registration = create_registration()
    app.config["IREV_BASE_URL"] = "https://irev.example/rencontres"
    assert (
        external_url("public.meeting", slug="a b")
        == "https://irev.example/rencontres/seances/a%20b"
    )
    assert external_url("registration.form", seance="x") == (
        "https://irev.example/rencontres/inscription?seance=x"
    )
    assert manage_url(registration.person).startswith(
        "https://irev.example/rencontres/inscription/gerer/"
    )
