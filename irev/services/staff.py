"""Staff accounts: invitations, passwords, roles, sign-in with a temporary lock after failures.

Decisions carried out here:
- An invited account exists at once, with no password (an empty hash, which nothing matches),
  so that its address is reserved and the list shows the invitation pending. The invited person
  chooses a password from an e-mailed link; until then the account cannot sign in.
- E-mailed links (invitation, forgotten password) are signed tokens with a salt per purpose
  (irev.tokens) carrying the account id and its `link_version`. Using a link, choosing a
  password or disabling the account raises the version, so every older link does nothing.
- « Mot de passe oublié » answers the same whether or not the address has an account: the
  difference travels by e-mail (only a known, active account gets one; nobody else does).
- Choosing a new password ends every session of the account (its session token changes).
- Administration may do everything; moderation everything but accounts, cycles and settings.
  The last active administration account cannot be disabled, so the team never locks itself out.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from werkzeug.security import check_password_hash, generate_password_hash

from irev import tokens
from irev.extensions import db
from irev.models import StaffRole, StaffUser, utcnow
from irev.models.staff import new_session_token
from irev.services import audit, outbox

log = logging.getLogger(__name__)

#: Failed attempts in a row that lock an account, and for how long.
LOCK_AFTER_FAILURES = 5
LOCK_DURATION = timedelta(minutes=15)
#: Shorter passwords are refused (ANSSI and ASVS recommend long passphrases over rules).
MIN_PASSWORD_LENGTH = 12
HASH_METHOD = "scrypt"

#: Checked when the e-mail is unknown, so a wrong address costs the same time as a wrong password.
_DUMMY_HASH = generate_password_hash(secrets.token_urlsafe(16), method=HASH_METHOD)

#: How long an e-mailed link works, in days: an invitation a week, a new password two hours.
INVITE_MAX_AGE_DAYS = 7
RESET_MAX_AGE_DAYS = 2 / 24
#: One « mot de passe oublié » e-mail per account per window, however often it is asked for.
RESET_WINDOW = timedelta(minutes=15)

#: The two e-mailed links: token purpose, e-mail kind, how long it works.
INVITE = "staff_invite"
RESET = "staff_reset"
LINK_KINDS = {INVITE: "invitation_to_staff", RESET: "password_reset_to_staff"}
LINK_MAX_AGE_DAYS = {INVITE: INVITE_MAX_AGE_DAYS, RESET: RESET_MAX_AGE_DAYS}


class StaffError(ValueError):
    """A staff account could not be created or changed; the message says why, in French."""


class LinkError(StaffError):
    """An e-mailed account link cannot be used (expired, used, replaced or tampered with)."""


def normalise_email(email: str) -> str:
    """Return the address trimmed and lower-cased, the form accounts are stored under."""
    return (email or "").strip().lower()


def hash_password(password: str) -> str:
    """Return a salted scrypt hash of password."""
    return generate_password_hash(password, method=HASH_METHOD)


def check_password_strength(password: str) -> None:
    """Refuse a password that is too short."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise StaffError(
            f"Le mot de passe doit compter au moins {MIN_PASSWORD_LENGTH} caractères "
            "(une phrase de passe est plus simple à retenir)."
        )


def get_by_email(email: str) -> StaffUser | None:
    """Return the account with this address, or None."""
    return db.session.scalar(db.select(StaffUser).filter_by(email=normalise_email(email)))


def get_by_session_token(token: str) -> StaffUser | None:
    """Return the active account whose current session token is token (Flask-Login's loader)."""
    if not token:
        return None
    return db.session.scalar(db.select(StaffUser).filter_by(session_token=token, active=True))


def _new_address(email: str) -> str:
    """Return the normalised address; refuse a malformed one or one that has an account."""
    email = normalise_email(email)
    if "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
        raise StaffError("Adresse e-mail invalide.")
    if get_by_email(email) is not None:
        raise StaffError(f"Un compte existe déjà pour {email}.")
    return email


def create_staff(
    email: str, password: str, display_name: str = "", role: StaffRole = StaffRole.ADMIN
) -> StaffUser:
    """Add an active account; refuse a malformed address, a duplicate or a short password."""
    email = _new_address(email)
    check_password_strength(password)
    user = StaffUser(
        email=email,
        display_name=display_name.strip(),
        password_hash=hash_password(password),
        role=role,
        password_set_at=utcnow(),
    )
    db.session.add(user)
    db.session.flush()
    return user


def invite_staff(actor: StaffUser, email: str, display_name: str, role: StaffRole) -> StaffUser:
    """Add an account without a password and e-mail its owner a link to choose one."""
    user = StaffUser(
        email=_new_address(email), display_name=display_name.strip(), password_hash="", role=role
    )
    db.session.add(user)
    db.session.flush()
    audit.record(
        actor, "staff.invite", user, after={"email": user.email, "role": role, "active": True}
    )
    _send_link(user, INVITE, invited_by=actor.display_name or actor.email)
    return user


def resend_invitation(actor: StaffUser, user: StaffUser) -> None:
    """Send a new invitation link (older ones stop working); only while it is pending."""
    if not user.invitation_pending or not user.active:
        raise StaffError("Ce compte n'attend plus d'invitation.")
    user.link_version += 1
    audit.record(actor, "staff.invite_again", user, after={"email": user.email})
    _send_link(user, INVITE, invited_by=actor.display_name or actor.email)


def _send_link(user: StaffUser, purpose: str, **context) -> bool:
    """Queue the e-mail carrying a link of purpose for the account's current link version.

    The token itself is made when the message is rendered (irev.notifications): the outbox
    row holds only the account and its version, never a live secret.
    """
    kind = LINK_KINDS[purpose]
    window = int(utcnow().timestamp() // RESET_WINDOW.total_seconds())
    return outbox.enqueue(
        kind,
        user.email,
        to_name=user.display_name,
        dedupe_key=f"staff:{user.id}:{kind}:{user.link_version}:{window}",
        context={"staff_id": user.id, "link_version": user.link_version, **context},
    )


def link_token(purpose: str, staff_id: int, link_version: int) -> str:
    """Return the signed token of an e-mailed account link."""
    return tokens.make_token(purpose, {"s": staff_id, "v": link_version})


def request_password_reset(email: str) -> bool:
    """E-mail a new-password link to an active account with this address; else do nothing.

    The caller answers the same either way (no enumeration); the return value is for tests
    and logs only. A pending invitation gets its invitation again instead.
    """
    user = get_by_email(email)
    if user is None or not user.active:
        log.info("password reset asked for an unknown or disabled account")
        return False
    purpose = INVITE if user.invitation_pending else RESET
    queued = _send_link(user, purpose)
    if queued:
        audit.record(user, "staff.reset_request", user)
    log.info("password reset asked for account %s (e-mail queued: %s)", user.id, queued)
    return queued


def account_for_link(purpose: str, token: str) -> StaffUser:
    """Return the account an e-mailed link is for, or raise LinkError saying why in French."""
    try:
        payload = tokens.read_token(purpose, token, max_age_days=LINK_MAX_AGE_DAYS[purpose])
    except tokens.ExpiredToken as error:
        raise LinkError(
            "Ce lien a expiré. Demandez-en un nouveau (« Mot de passe oublié » sur la page "
            "de connexion, ou une nouvelle invitation à un administrateur)."
        ) from error
    except tokens.InvalidToken as error:
        raise LinkError("Ce lien n'est pas valide : vérifiez qu'il est complet.") from error
    staff_id = payload.get("s")
    user = db.session.get(StaffUser, staff_id) if isinstance(staff_id, int) else None
    if user is None or not user.active or payload.get("v") != user.link_version:
        raise LinkError(
            "Ce lien a déjà servi ou a été remplacé par un plus récent. Si vous n'avez pas "
            "choisi de mot de passe, demandez un nouveau lien."
        )
    if (purpose == INVITE) != user.invitation_pending:
        raise LinkError("Ce lien a déjà servi. Connectez-vous avec votre mot de passe.")
    return user


def set_password_from_link(purpose: str, token: str, password: str) -> StaffUser:
    """Set the password chosen from an e-mailed link; the link and every session then end."""
    user = account_for_link(purpose, token)
    set_password(user, password)
    audit.record(
        user, "staff.invitation_accept" if purpose == INVITE else "staff.password_reset", user
    )
    log.info("staff password set from a link: account %s", user.id)
    return user


def set_password(user: StaffUser, password: str) -> None:
    """Replace the password, unlock the account and sign every session out."""
    check_password_strength(password)
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    user.password_set_at = utcnow()
    user.link_version += 1
    end_sessions(user)


def password_matches(user: StaffUser, password: str) -> bool:
    """Return True if password is the account's current one (no lock, no counter touched)."""
    return check_password_hash(user.password_hash, password)


def disable_staff(user: StaffUser) -> None:
    """Disable the account, void its e-mailed links and end its sessions."""
    user.active = False
    user.link_version += 1
    end_sessions(user)


def disable_account(actor: StaffUser, user: StaffUser) -> None:
    """Disable a colleague's account from the staff area, keeping one administrator."""
    if user.id == actor.id:
        raise StaffError("Vous ne pouvez pas désactiver votre propre compte.")
    if not user.active:
        raise StaffError("Ce compte est déjà désactivé.")
    if user.is_admin and count_active_admins() <= 1:
        raise StaffError("Ce compte est le dernier compte d'administration actif.")
    disable_staff(user)
    audit.record(actor, "staff.disable", user, before={"active": True}, after={"active": False})


def count_active_admins() -> int:
    """Return how many active accounts have the administration role."""
    return db.session.scalar(
        db.select(db.func.count(StaffUser.id)).filter_by(active=True, role=StaffRole.ADMIN)
    )


def end_sessions(user: StaffUser) -> None:
    """Rotate the session token: every session cookie naming the old one stops working."""
    user.session_token = new_session_token()


def is_locked(user: StaffUser) -> bool:
    """Return True while the account is locked after repeated failures."""
    return user.locked_until is not None and user.locked_until > utcnow()


def authenticate(email: str, password: str) -> StaffUser | None:
    """Return the account if the password is right and the account usable; count failures.

    The caller commits. The answer never tells why it failed (unknown address, wrong password,
    lock or disabled account): the page shows one message for all.
    """
    user = get_by_email(email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        log.info("staff sign-in refused: unknown account")
        return None
    if user.invitation_pending:  # no password yet: nothing may match
        check_password_hash(_DUMMY_HASH, password or "")
        log.info("staff sign-in refused: account %s has no password yet", user.id)
        return None
    password_ok = check_password_hash(user.password_hash, password or "")
    if not user.active:
        log.info("staff sign-in refused: account %s disabled", user.id)
        return None
    if is_locked(user):
        log.warning("staff sign-in refused: account %s locked", user.id)
        return None
    if not password_ok:
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= LOCK_AFTER_FAILURES:
            user.locked_until = utcnow() + LOCK_DURATION
            user.failed_logins = 0
            log.warning("staff sign-in refused: account %s locked after failures", user.id)
        else:
            log.info("staff sign-in refused: wrong password for account %s", user.id)
        return None
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = utcnow()
    log.info("staff sign-in: account %s", user.id)
    return user


def list_staff() -> list[StaffUser]:
    """Return every account, by address."""
    return list(db.session.scalars(db.select(StaffUser).order_by(StaffUser.email)))
