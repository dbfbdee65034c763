"""The staff area: the guard on every URL, sign-in, lock, sign-out, headers, staff commands."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from werkzeug.routing import IntegerConverter

from irev.admin import OPEN_ENDPOINTS
from irev.extensions import db
from irev.models import StaffUser, utcnow
from irev.services import staff
from tests.admin_helpers import PASSWORD, create_staff, sign_in

SIGN_IN = "/admin/connexion"
REFUSED = "Adresse e-mail ou mot de passe incorrect"


def _admin_urls(app) -> list[tuple[str, str, str]]:
    """Return (endpoint, method, url) for every admin route, with placeholder arguments."""
    found = []
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            if not rule.endpoint.startswith("admin.") or rule.endpoint in OPEN_ENDPOINTS:
                continue
            values = {
                name: 1 if isinstance(rule._converters[name], IntegerConverter) else "x"
                for name in rule.arguments
            }
            url = url_for(rule.endpoint, **values)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                found.append((rule.endpoint, method, url))
    return found


def _assert_all_redirect_to_sign_in(app, client) -> int:
    """Request every admin URL; each must answer only a redirect to the sign-in page."""
    urls = _admin_urls(app)
    for endpoint, method, url in urls:
        response = client.open(url, method=method)
        assert response.status_code in (302, 303), (endpoint, method, response.status_code)
        assert response.location.split("?")[0] == SIGN_IN, (endpoint, response.location)
        assert "Tableau de bord" not in response.get_data(as_text=True)
    return len(urls)


def test_no_admin_url_answers_without_a_signed_in_account(app, client, create_meeting):
    create_meeting()  # id 1 exists: a placeholder id must not reach a view either
    db.session.commit()
    checked = _assert_all_redirect_to_sign_in(app, client)
    assert checked >= 35  # every page and action of the staff area was requested


def test_no_admin_url_answers_to_a_disabled_account(app, client):
    user = create_staff()
    assert sign_in(client).status_code == 303
    assert client.get("/admin/").status_code == 200
    staff.disable_staff(db.session.get(StaffUser, user.id))
    db.session.commit()
    _assert_all_redirect_to_sign_in(app, client)


def test_sign_in_page_has_the_right_fields(client):
    html = client.get(SIGN_IN).get_data(as_text=True)
    assert 'autocomplete="username"' in html
    assert 'autocomplete="current-password"' in html
    assert '<label for="email">' in html and '<label for="password">' in html


def test_sign_in_then_dashboard(app, client):
    create_staff()
    response = sign_in(client)
    assert response.status_code == 303
    assert response.location == "/admin/"
    page = client.get("/admin/")
    assert page.status_code == 200
    assert "<h1>Tableau de bord</h1>" in page.get_data(as_text=True)
    assert db.session.scalar(db.select(StaffUser.last_login_at)) is not None


def test_guard_keeps_the_requested_page_for_after_sign_in(client):
    create_staff()
    response = client.get("/admin/emails?etat=failed")
    assert response.status_code == 303
    assert response.location == "/admin/connexion?next=/admin/emails?etat%3Dfailed"
    client.get(response.location)
    signed = client.post(
        "/admin/connexion?next=/admin/emails?etat%3Dfailed",
        data={"email": "equipe@irev.fr", "password": PASSWORD},
    )
    assert signed.location == "/admin/emails?etat=failed"


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/admin/", "//evil.example/admin/", "/\\evil.example", "/inscription", ""],
)
def test_next_is_only_followed_to_a_local_admin_page(client, target):
    create_staff()
    response = client.post(
        "/admin/connexion",
        query_string={"next": target},
        data={"email": "equipe@irev.fr", "password": PASSWORD},
    )
    assert response.status_code == 303
    assert response.location == "/admin/"


@pytest.mark.parametrize(
    ("email", "password"),
    [("equipe@irev.fr", "wrong password here"), ("nobody@irev.fr", PASSWORD)],
    ids=["wrong password", "unknown address"],
)
def test_same_refusal_for_a_wrong_password_and_an_unknown_address(client, email, password):
    create_staff()
    response = sign_in(client, email, password)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert REFUSED in html
    assert html.count(REFUSED) == 1
    assert "<title>Erreur : Connexion" in html
    assert f'value="{password}"' not in html  # the password is never sent back
    assert client.get("/admin/").status_code == 303


def test_missing_fields_are_named(client):
    response = client.post(SIGN_IN, data={"email": "", "password": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Saisissez votre adresse e-mail." in html
    assert "Saisissez votre mot de passe." in html
    assert 'aria-invalid="true"' in html


def test_account_locks_after_five_failures_then_unlocks(client):
    user = create_staff()
    for _ in range(staff.LOCK_AFTER_FAILURES):
        assert sign_in(client, password="not the password").status_code == 422
    db.session.refresh(user)
    assert user.locked_until is not None and user.locked_until > utcnow()
    # Locked: even the right password is refused, with the same message.
    refused = sign_in(client)
    assert refused.status_code == 422
    assert REFUSED in refused.get_data(as_text=True)
    # Fifteen minutes later (moved back rather than waited for), the right password works.
    user.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert sign_in(client).status_code == 303


def test_failures_are_counted_per_account_and_reset_by_success(client):
    user = create_staff()
    for _ in range(3):
        sign_in(client, password="not the password")
    db.session.refresh(user)
    assert user.failed_logins == 3
    assert sign_in(client).status_code == 303
    db.session.refresh(user)
    assert user.failed_logins == 0 and user.locked_until is None


def test_sign_in_logs_without_personal_data_or_password(client, caplog):
    create_staff()
    with caplog.at_level(logging.INFO):
        sign_in(client, password="secret-wrong-one")
        sign_in(client, "stranger@example.org", "another-secret")
        sign_in(client)
    text = caplog.text
    assert "sign-in refused" in text and "staff sign-in: account" in text
    for secret in ("equipe@irev.fr", "stranger@example.org", "secret-wrong-one", PASSWORD):
        assert secret not in text


def test_a_new_session_at_sign_in(client):
    create_staff()
    with client.session_transaction() as session:
        session["left_over"] = "from before"
    sign_in(client)
    with client.session_transaction() as session:
        assert "left_over" not in session


def test_sign_out_ends_the_session_on_the_server_too(app, client):
    create_staff()
    sign_in(client)
    old_cookie = client.get_cookie("session").value
    response = client.post("/admin/deconnexion")
    assert response.status_code == 303 and response.location == SIGN_IN
    assert client.get("/admin/").status_code == 303
    # Replaying the cookie from before the sign-out no longer opens anything.
    other = app.test_client()
    other.set_cookie("session", old_cookie)
    replay = other.get("/admin/")
    assert replay.status_code == 303
    assert replay.location.startswith(SIGN_IN)


def test_staff_pages_are_never_cached_nor_kept_in_htmx_history(client):
    create_staff()
    sign_in(client)
    response = client.get("/admin/")
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert 'data-hx-history="false"' in html
    assert "X-CSRFToken" in html  # htmx requests carry the CSRF token as a header
    assert 'href="/static/css/admin.css"' in html


def test_session_cookie_flags(client):
    create_staff()
    response = sign_in(client)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_an_htmx_request_after_the_session_ended_reloads_the_whole_page(client):
    response = client.get(
        "/admin/connexion?next=/admin/",
        headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/admin/"},
    )
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/admin/connexion?next=/admin/"


def test_guard_names_the_page_not_the_fragment_for_htmx(client):
    response = client.get(
        "/admin/?x=1",
        headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/admin/seances"},
    )
    assert response.location == "/admin/connexion?next=/admin/seances"


# --- staff commands ------------------------------------------------------------------------


def test_reason_page_never_links_outside_the_admin(client, create_registration):
    from irev.models import RegistrationState

    create_staff()
    sign_in(client)
    registration = create_registration(state=RegistrationState.PENDING_APPROVAL)
    db.session.commit()
    html = client.get(
        f"/admin/inscriptions/{registration.id}/refuser?retour=javascript:alert(1)"
    ).get_data(as_text=True)
    assert "javascript:" not in html


def test_staff_add_reads_the_password_from_stdin(runner):
    result = runner.invoke(
        args=["staff", "add", "Nouvelle@IREV.fr", "--password-stdin"], input=PASSWORD + "\n"
    )
    assert result.exit_code == 0, result.output
    user = staff.get_by_email("nouvelle@irev.fr")
    assert user is not None and user.active
    assert user.password_hash.startswith("scrypt:")
    assert staff.authenticate("nouvelle@irev.fr", PASSWORD) is not None


def test_staff_add_asks_twice_with_hidden_input(runner):
    result = runner.invoke(args=["staff", "add", "a@irev.fr"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output  # hidden
    assert "Confirmez le mot de passe" in result.output
    mismatch = runner.invoke(args=["staff", "add", "b@irev.fr"], input=f"{PASSWORD}\nother\n" * 3)
    assert mismatch.exit_code != 0
    assert staff.get_by_email("b@irev.fr") is None


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("court@irev.fr", "trop court", "au moins 12 caractères"),
        ("pas-une-adresse", PASSWORD, "Adresse e-mail invalide"),
        ("equipe@irev.fr", PASSWORD, "Un compte existe déjà"),
    ],
)
def test_staff_add_refusals(runner, email, password, message):
    create_staff()
    result = runner.invoke(args=["staff", "add", email, "--password-stdin"], input=password)
    assert result.exit_code == 1
    assert message in result.output


def test_staff_list_and_disable(runner, client):
    create_staff()
    sign_in(client)
    listed = runner.invoke(args=["staff", "list"])
    assert "equipe@irev.fr\tactif" in listed.output
    disabled = runner.invoke(args=["staff", "disable", "equipe@irev.fr"])
    assert disabled.exit_code == 0
    assert "equipe@irev.fr\tdésactivé" in runner.invoke(args=["staff", "list"]).output
    assert client.get("/admin/").status_code == 303  # its open session ended at once
    assert sign_in(client).status_code == 422
    unknown = runner.invoke(args=["staff", "disable", "nobody@irev.fr"])
    assert unknown.exit_code == 1
    from irev.models import AuditEvent

    assert db.session.scalar(db.select(AuditEvent.action)) == "staff.disable"


def test_staff_demo_only_in_debug(app, runner, tmp_path):
    app.instance_path = str(tmp_path / "instance")
    refused = runner.invoke(args=["staff", "demo"])
    assert refused.exit_code == 1
    assert "FLASK_DEBUG=1" in refused.output
    assert staff.get_by_email("demo@irev.test") is None
    app.debug = True
    created = runner.invoke(args=["staff", "demo"])
    assert created.exit_code == 0
    password = created.output.split("mot de passe   : ")[1].strip()
    assert staff.authenticate("demo@irev.test", password) is not None
    again = runner.invoke(args=["staff", "demo"])  # make run twice: not duplicated
    assert again.exit_code == 0
    assert db.session.scalar(db.select(db.func.count(StaffUser.id))) == 1
    # the same password each run of the same database: a saved one keeps working
    assert again.output.split("mot de passe   : ")[1].strip() == password
    assert staff.authenticate("demo@irev.test", password) is not None
    saved = tmp_path / "instance" / "demo-staff-password"
    assert saved.read_text(encoding="utf-8").strip() == password
    assert saved.stat().st_mode & 0o077 == 0  # readable by its owner only
