"""The team's accounts: invitations, forgotten password, roles, disabling, sign-in rate limit."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import g

from irev import notifications
from irev.extensions import db
from irev.models import AuditEvent, OutboundEmail, StaffRole, StaffUser
from irev.services import staff
from tests.admin_helpers import PASSWORD, create_staff, outbox, sign_in
from tests.test_migrations import empty_app, flask_db  # noqa: F401  (fixture)

NEW_PASSWORD = "une autre phrase de passe bien longue"
ADMIN = "admin@irev.fr"
MODERATOR = "moderation@irev.fr"


@pytest.fixture(autouse=True)
def fresh_g_per_request(request):
    """Start every request with an empty `g`, as in production.

    The test holds one application context for its database work, so every request of every
    test client would share its `g`: Flask-Login's user of one client, the sign-in mark of the
    last request. Several clients stand for several people here; each request starts clean.
    """
    if "app" in request.fixturenames:  # not for the migration test's empty database
        app = request.getfixturevalue("app")
        app.before_request_funcs.setdefault(None, []).insert(0, lambda: g.__dict__.clear())


def _actions() -> list[str]:
    """Return the audit actions, oldest first."""
    return list(db.session.scalars(db.select(AuditEvent.action).order_by(AuditEvent.id)))


def _link(email: OutboundEmail) -> str:
    """Return the path of the link a staff-account e-mail carries, as rendered for sending."""
    text = notifications.render(email).text
    urls = re.findall(r"http://irev\.test(/admin/\S+)", text)
    assert len(urls) == 1, text
    return urls[0]


def _signed_in(client, email: str, role: StaffRole = StaffRole.ADMIN):
    """Create an account of role and sign client in with it."""
    create_staff(email, role=role)
    assert sign_in(client, email).status_code == 303
    return client


@pytest.fixture
def admin_client(client):
    """A client signed in with an administration account."""
    return _signed_in(client, ADMIN)


def _invite(client, email="nouvelle@irev.fr", name="Nina Nouvelle", role="moderation"):
    """Post the invitation form."""
    return client.post(
        "/admin/comptes/inviter", data={"email": email, "display_name": name, "role": role}
    )


# --- Invitation ---------------------------------------------------------------------------


def test_invite_then_set_password_then_sign_in(app, admin_client):
    response = _invite(admin_client)
    assert response.status_code == 303
    assert response.location == "/admin/comptes"
    user = staff.get_by_email("nouvelle@irev.fr")
    assert user.role is StaffRole.MODERATION and user.invitation_pending
    listing = admin_client.get("/admin/comptes").get_data(as_text=True)
    assert "Invitation envoyée à nouvelle@irev.fr." in listing
    assert "Invitation en attente" in listing
    (email,) = outbox("invitation_to_staff")
    assert email.to_address == "nouvelle@irev.fr"
    assert "token" not in str(email.context)  # the row holds no live secret
    rendered = notifications.render(email)
    assert rendered.subject == "Invitation à l’espace équipe des rencontres des élus de l’IREV"
    assert "Bonjour Nina Nouvelle," in rendered.text
    link = _link(email)
    assert link.startswith("/admin/invitation/")

    invitee = app.test_client()
    assert sign_in(invitee, "nouvelle@irev.fr", "").status_code == 422  # no password yet
    page = invitee.get(link)  # opening the link changes nothing
    assert page.status_code == 200
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert "Choisir votre mot de passe" in page.get_data(as_text=True)
    db.session.refresh(user)
    assert user.invitation_pending
    saved = invitee.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert saved.status_code == 303 and saved.location == "/admin/connexion"
    assert "Votre mot de passe est enregistré" in invitee.get(saved.location).get_data(as_text=True)
    assert sign_in(invitee, "nouvelle@irev.fr", NEW_PASSWORD).status_code == 303
    assert invitee.get("/admin/").status_code == 200
    # The link served once: opened again, it explains and changes nothing.
    again = invitee.post(link, data={"password": PASSWORD, "confirm": PASSWORD})
    assert again.status_code == 410
    assert "déjà servi" in again.get_data(as_text=True)
    assert staff.authenticate("nouvelle@irev.fr", NEW_PASSWORD) is not None
    actions = _actions()
    assert actions.index("staff.invite") < actions.index("staff.invitation_accept")


def test_invitation_is_audited_in_french(admin_client):
    _invite(admin_client)
    journal = admin_client.get("/admin/journal").get_data(as_text=True)
    assert "Collègue invité·e dans l’équipe" in journal
    assert "Modération" in journal
    event = db.session.scalar(db.select(AuditEvent).filter_by(action="staff.invite"))
    assert event.actor_label == ADMIN


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"email": ""}, "Saisissez l&#39;adresse e-mail de votre collègue."),
        ({"email": "pas-une-adresse"}, "adresse"),
        ({"email": ADMIN}, "Un compte existe déjà pour admin@irev.fr."),
        ({"email": "a" * 250 + "@irev.fr"}, "Saisissez au plus 254 caractères."),
        ({"display_name": ""}, "Saisissez le nom de votre collègue."),
        ({"display_name": "Nina\x00"}, "contient un caractère non autorisé"),
        ({"display_name": "x" * 121}, "Saisissez au plus 120 caractères."),
        ({"role": "root"}, "Choix"),
        ({"role": ""}, "Choisissez un rôle."),
    ],
)
def test_invitation_refuses_bad_input(admin_client, values, message):
    data = {"email": "nouvelle@irev.fr", "display_name": "Nina", "role": "admin", **values}
    response = admin_client.post("/admin/comptes/inviter", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "<title>Erreur : " in html and "Il y a un problème" in html
    assert message.lower() in html.lower()
    assert db.session.scalar(db.select(sa.func.count(StaffUser.id))) == 1
    assert outbox() == []


def test_resending_an_invitation_voids_the_first_link(app, admin_client):
    _invite(admin_client)
    user = staff.get_by_email("nouvelle@irev.fr")
    first = _link(outbox("invitation_to_staff")[0])
    resent = admin_client.post(f"/admin/comptes/{user.id}/renvoyer-invitation")
    assert resent.status_code == 303
    second = _link(outbox("invitation_to_staff")[1])
    invitee = app.test_client()
    assert invitee.get(first).status_code == 410
    assert invitee.get(second).status_code == 200
    assert "staff.invite_again" in _actions()


def test_a_used_account_cannot_be_invited_again(admin_client):
    moderator = create_staff(MODERATOR, role=StaffRole.MODERATION)
    response = admin_client.post(f"/admin/comptes/{moderator.id}/renvoyer-invitation")
    assert response.status_code == 409
    assert "n&#39;attend plus d&#39;invitation" in response.get_data(as_text=True)
    assert outbox() == []


@pytest.mark.parametrize(
    ("password", "confirm", "message"),
    [
        ("", "", "Saisissez un mot de passe."),
        ("trop court", "trop court", "au moins 12 caractères"),
        (NEW_PASSWORD, NEW_PASSWORD + "!", "Les deux mots de passe saisis sont différents."),
        ("x" * 201, "x" * 201, "Saisissez au plus 200 caractères."),
        (NEW_PASSWORD + "\x00", NEW_PASSWORD + "\x00", "caractère non autorisé"),
    ],
)
def test_setting_a_password_refuses_bad_input(app, admin_client, password, confirm, message):
    _invite(admin_client)
    link = _link(outbox("invitation_to_staff")[0])
    response = app.test_client().post(link, data={"password": password, "confirm": confirm})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html.replace("&#39;", "'")
    assert password not in html or not password  # a typed password is never echoed back
    assert staff.get_by_email("nouvelle@irev.fr").invitation_pending


@pytest.mark.parametrize(
    "token",
    ["x", "a" * 5000, "eyJzIjoxLCJ2IjoxfQ.aaaa.bbbb", "%00", "..", "9" * 40],
)
def test_a_tampered_link_answers_a_french_410(client, token):
    create_staff()
    for path in (f"/admin/invitation/{token}", f"/admin/nouveau-mot-de-passe/{token}"):
        response = client.get(path)
        html = response.get_data(as_text=True)
        if token == "%00":  # refused before any view, in French (irev/request_guards.py)
            assert response.status_code == 400 and "caractère nul" in html
        else:
            assert response.status_code == 410, path
            assert "Ce lien n&#39;est pas valide" in html


def test_a_link_made_for_one_purpose_is_refused_for_the_other(app, admin_client):
    _invite(admin_client)
    invitation = _link(outbox("invitation_to_staff")[0])
    token = invitation.rsplit("/", 1)[1]
    response = app.test_client().get(f"/admin/nouveau-mot-de-passe/{token}")
    assert response.status_code == 410


def test_an_expired_link_says_so(app, admin_client, monkeypatch):
    _invite(admin_client)
    user = staff.get_by_email("nouvelle@irev.fr")
    import itsdangerous.timed

    made_at = itsdangerous.timed.time.time() - 8 * 86400  # eight days ago: past the week
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: made_at)
    token = staff.link_token(staff.INVITE, user.id, user.link_version)
    monkeypatch.undo()
    response = app.test_client().get(f"/admin/invitation/{token}")
    assert response.status_code == 410
    assert "Ce lien a expiré" in response.get_data(as_text=True)


# --- Forgotten password -------------------------------------------------------------------


def _forgot(client, email: str):
    """Post the « Mot de passe oublié » form and return the page it leads to."""
    response = client.post("/admin/mot-de-passe-oublie", data={"email": email})
    assert response.status_code == 303
    assert response.location == "/admin/connexion"
    return client.get(response.location).get_data(as_text=True)


def test_forgotten_password_answers_the_same_for_a_known_or_unknown_address(client):
    create_staff()
    create_staff("partie@irev.fr", active=False)
    page = client.get("/admin/connexion").get_data(as_text=True)
    assert 'href="/admin/mot-de-passe-oublie"' in page
    answers = {
        address: _forgot(client, address)
        for address in ("equipe@irev.fr", "inconnue@irev.fr", "partie@irev.fr", "EQUIPE@irev.fr")
    }
    # Without the CSRF tokens: signed with the time, they change from one second to the next.
    strip = {a: re.sub(r"[\w-]+\.[\w-]{6}\.[\w-]{27}", "", html) for a, html in answers.items()}
    assert len(set(strip.values())) == 1  # one answer, whoever asked
    assert "Si un compte actif correspond à cette adresse" in answers["inconnue@irev.fr"]
    # The difference travels by e-mail: only the known, active account gets one.
    emails = outbox("password_reset_to_staff")
    assert [e.to_address for e in emails] == ["equipe@irev.fr"]  # asked twice: one e-mail


def test_new_password_from_the_link_ends_the_other_sessions(app, client):
    create_staff()
    elsewhere = app.test_client()
    assert sign_in(elsewhere).status_code == 303
    _forgot(client, "equipe@irev.fr")
    link = _link(outbox("password_reset_to_staff")[0])
    assert link.startswith("/admin/nouveau-mot-de-passe/")
    page = client.get(link)
    assert page.status_code == 200
    assert "Choisir un nouveau mot de passe" in page.get_data(as_text=True)
    assert elsewhere.get("/admin/").status_code == 200  # opening the link ended nothing
    saved = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert saved.status_code == 303
    assert elsewhere.get("/admin/").status_code == 303  # that session is over
    assert sign_in(client, password=PASSWORD).status_code == 422
    assert sign_in(client, password=NEW_PASSWORD).status_code == 303
    assert client.get(link).status_code == 410  # used once
    assert {"staff.reset_request", "staff.password_reset"} <= set(_actions())
    journal = client.get("/admin/journal").get_data(as_text=True)
    assert "Mot de passe changé depuis le lien reçu par e-mail" in journal


def test_a_reset_link_does_nothing_once_the_account_is_disabled(app, client):
    create_staff()
    _forgot(client, "equipe@irev.fr")
    link = _link(outbox("password_reset_to_staff")[0])
    staff.disable_staff(staff.get_by_email("equipe@irev.fr"))
    db.session.commit()
    assert (
        client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code
        == 410
    )
    assert staff.authenticate("equipe@irev.fr", NEW_PASSWORD) is None


@pytest.mark.parametrize(
    ("email", "message"),
    [("", "Saisissez votre adresse e-mail."), ("a\x00@irev.fr", "caractère non autorisé")],
)
def test_forgotten_password_refuses_bad_input(client, email, message):
    response = client.post("/admin/mot-de-passe-oublie", data={"email": email})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert outbox() == []


def test_the_email_log_never_shows_an_account_link(admin_client):
    _invite(admin_client)
    email = outbox("invitation_to_staff")[0]
    token = _link(email).rsplit("/", 1)[1]
    for path in (f"/admin/emails/{email.id}", f"/admin/emails/{email.id}/apercu.html"):
        html = admin_client.get(path).get_data(as_text=True)
        assert token not in html and "/admin/invitation/" not in html
        assert "il n’est pas affiché ici" in html


# --- Roles --------------------------------------------------------------------------------

ADMIN_ONLY = [
    ("GET", "/admin/cycles"),
    ("GET", "/admin/cycles/nouveau"),
    ("POST", "/admin/cycles/nouveau"),
    ("GET", "/admin/programme"),
    ("POST", "/admin/cycles/1/publier"),
    ("GET", "/admin/comptes"),
    ("GET", "/admin/comptes/inviter"),
    ("POST", "/admin/comptes/inviter"),
    ("POST", "/admin/comptes/1/desactiver"),
    ("POST", "/admin/comptes/1/renvoyer-invitation"),
]


@pytest.mark.parametrize(("method", "path"), ADMIN_ONLY)
def test_moderation_gets_a_french_403_on_admin_pages(client, method, path):
    _signed_in(client, MODERATOR, StaffRole.MODERATION)
    response = client.open(path, method=method, data={"email": "x@irev.fr", "role": "admin"})
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "Accès refusé" in html and 'lang="fr"' in html
    assert db.session.scalar(db.select(sa.func.count(StaffUser.id))) == 1
    assert db.session.get(StaffUser, 1).active


def test_the_menu_shows_only_what_the_role_may_use(app, client):
    _signed_in(client, MODERATOR, StaffRole.MODERATION)
    moderation_menu = client.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/comptes"' not in moderation_menu
    assert 'href="/admin/cycles"' not in moderation_menu
    assert 'href="/admin/journal"' in moderation_menu
    assert "Modifier le programme" not in client.get("/admin/seances").get_data(as_text=True)
    admin = _signed_in(app.test_client(), ADMIN)
    assert 'href="/admin/comptes"' in admin.get("/admin/").get_data(as_text=True)


def test_accounts_list_shows_roles_states_and_last_sign_in(admin_client):
    create_staff(MODERATOR, role=StaffRole.MODERATION, display_name="Marc Modo")
    create_staff("partie@irev.fr", active=False)
    html = admin_client.get("/admin/comptes").get_data(as_text=True)
    assert "Marc Modo" in html and "Modération" in html and "Administration" in html
    assert "Désactivé" in html and "jamais" in html
    me = staff.get_by_email(ADMIN)
    from irev.admin import compact_datetime

    assert compact_datetime(me.last_login_at) in html


# --- Disabling ----------------------------------------------------------------------------


def test_disabling_an_account_ends_its_sessions_and_is_audited(app, admin_client):
    colleague = _signed_in(app.test_client(), MODERATOR, StaffRole.MODERATION)
    user = staff.get_by_email(MODERATOR)
    response = admin_client.post(f"/admin/comptes/{user.id}/desactiver")
    assert response.status_code == 303
    assert "Compte désactivé : moderation@irev.fr." in admin_client.get(response.location).get_data(
        as_text=True
    )
    assert colleague.get("/admin/").status_code == 303  # signed out at once
    assert sign_in(colleague, MODERATOR).status_code == 422
    event = db.session.scalar(db.select(AuditEvent).filter_by(action="staff.disable"))
    assert event.actor_label == ADMIN and event.after == {"active": False}
    assert "Compte de l’équipe désactivé" in admin_client.get("/admin/journal").get_data(
        as_text=True
    )


def test_nobody_disables_their_own_account(admin_client):
    me = staff.get_by_email(ADMIN)
    response = admin_client.post(f"/admin/comptes/{me.id}/desactiver")
    assert response.status_code == 409
    assert "Vous ne pouvez pas désactiver votre propre compte." in response.get_data(as_text=True)
    db.session.refresh(me)
    assert me.active and admin_client.get("/admin/").status_code == 200


def test_disabling_twice_or_an_unknown_account(admin_client):
    user = create_staff(MODERATOR, active=False)
    assert admin_client.post(f"/admin/comptes/{user.id}/desactiver").status_code == 409
    assert admin_client.post("/admin/comptes/999/desactiver").status_code == 404
    assert admin_client.post(f"/admin/comptes/{2**70}/desactiver").status_code == 404


def test_the_last_administrator_stays(app):
    admin = create_staff(ADMIN)
    other = create_staff("deux@irev.fr")
    staff.disable_account(admin, other)
    db.session.commit()
    assert staff.count_active_admins() == 1
    # A moderator (were one allowed here) could not remove the last administrator either.
    moderator = create_staff(MODERATOR, role=StaffRole.MODERATION)
    with pytest.raises(staff.StaffError, match="dernier compte d'administration"):
        staff.disable_account(moderator, admin)


# --- Command line -------------------------------------------------------------------------


def test_staff_add_takes_a_role(runner):
    result = runner.invoke(
        args=["staff", "add", MODERATOR, "--role", "moderation", "--password-stdin"],
        input=PASSWORD,
    )
    assert result.exit_code == 0, result.output
    assert "(modération)" in result.output
    assert staff.get_by_email(MODERATOR).role is StaffRole.MODERATION
    default = runner.invoke(args=["staff", "add", ADMIN, "--password-stdin"], input=PASSWORD)
    assert default.exit_code == 0
    assert staff.get_by_email(ADMIN).role is StaffRole.ADMIN
    listed = runner.invoke(args=["staff", "list"]).output
    assert f"{MODERATOR}\tactif\tmodération" in listed
    refused = runner.invoke(
        args=["staff", "add", "x@irev.fr", "--role", "root", "--password-stdin"], input=PASSWORD
    )
    assert refused.exit_code == 2 and staff.get_by_email("x@irev.fr") is None


# --- Sign-in rate limit -------------------------------------------------------------------

LIMITED = {"RATELIMIT_ENABLED": True, "IREV_SIGN_IN_RATE_LIMIT": "10 per minute;50 per hour"}


@pytest.mark.parametrize("app_config", [LIMITED])
def test_successful_sign_ins_never_count_toward_the_limit(app, client):
    """A whole office behind one address: 60 sign-ins in a row, all accepted."""
    create_staff()
    for _ in range(60):
        assert sign_in(client).status_code == 303
    # Failures still count: the tenth in a minute is the last one answered.
    for _ in range(10):
        assert sign_in(client, password="mauvais mot de passe").status_code == 422
    refused = sign_in(client)
    assert refused.status_code == 429
    assert "Trop de tentatives" in refused.get_data(as_text=True)


@pytest.mark.parametrize(
    "app_config", [{"RATELIMIT_ENABLED": True, "IREV_PASSWORD_RESET_RATE_LIMIT": "3 per minute"}]
)
def test_forgotten_password_requests_are_rate_limited(app, client):
    create_staff()
    for _ in range(3):
        client.post("/admin/mot-de-passe-oublie", data={"email": "equipe@irev.fr"})
    limited = client.post("/admin/mot-de-passe-oublie", data={"email": "equipe@irev.fr"})
    assert limited.status_code == 429
    assert len(outbox("password_reset_to_staff")) == 1


# --- Migration ----------------------------------------------------------------------------


def test_existing_accounts_become_administration(empty_app):  # noqa: F811
    flask_db(empty_app, "upgrade", "a560521a274c-1")  # just before this change
    db.session.execute(
        sa.text(
            "INSERT INTO staff_user (email, display_name, password_hash, active, session_token,"
            " failed_logins, created_at) VALUES ('ancien@irev.fr', '', 'scrypt:x', :t, 'tok',"
            " 0, '2026-11-01 10:00:00.000000')"
        ),
        {"t": True},
    )
    db.session.commit()
    flask_db(empty_app, "upgrade", "a560521a274c")
    row = db.session.execute(
        sa.text("SELECT role, link_version, password_set_at FROM staff_user")
    ).one()
    assert row.role == "admin" and row.link_version == 1 and row.password_set_at is not None
