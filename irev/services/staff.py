"""Staff accounts: creation, password hashing, sign-in with a temporary lock after failures."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from werkzeug.security import check_password_hash, generate_password_hash

from irev.extensions import db
from irev.models import StaffUser, utcnow
from irev.models.staff import new_session_token

log = logging.getLogger(__name__)

#: Failed attempts in a row that lock an account, and for how long.
LOCK_AFTER_FAILURES = 5
LOCK_DURATION = timedelta(minutes=15)
#: Shorter passwords are refused (ANSSI and ASVS recommend long passphrases over rules).
MIN_PASSWORD_LENGTH = 12
HASH_METHOD = "scrypt"

#: Checked when the e-mail is unknown, so a wrong address costs the same time as a wrong password.
_DUMMY_HASH = generate_password_hash(secrets.token_urlsafe(16), method=HASH_METHOD)


class StaffError(ValueError):
    """A staff account could not be created or changed; the message says why, in French."""


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


def create_staff(email: str, password: str, display_name: str = "") -> StaffUser:
    """Add an active account; refuse a malformed address, a duplicate or a short password."""
    email = normalise_email(email)
    if "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
        raise StaffError("Adresse e-mail invalide.")
    if get_by_email(email) is not None:
        raise StaffError(f"Un compte existe déjà pour {email}.")
    check_password_strength(password)
    user = StaffUser(
        email=email, display_name=display_name.strip(), password_hash=hash_password(password)
    )
    db.session.add(user)
    db.session.flush()
    return user


def set_password(user: StaffUser, password: str) -> None:
    """Replace the password, unlock the account and sign every session out."""
    check_password_strength(password)
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    end_sessions(user)


def disable_staff(user: StaffUser) -> None:
    """Disable the account and end its sessions."""
    user.active = False
    end_sessions(user)


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
