"""Rate limits of the form: per client address and per target e-mail address.

Limits are read from the configuration at each request, so production and tests can change
them (FLASK_IREV_RATELIMIT_SUBMIT_IP=...). Storage is Flask-Limiter's (RATELIMIT_STORAGE_URI:
in memory by default, Redis when configured). Behind a proxy the client address is the one
ProxyFix recovered (IREV_PROXY_HOPS).
"""

from __future__ import annotations

import hashlib

from flask import current_app, request
from flask_limiter.util import get_remote_address

from irev.extensions import limiter
from irev.services.people import InvalidEmail, normalise_email


def limit(name: str):
    """Return a callable giving the configured limit string (Flask-Limiter calls it lazily)."""
    return lambda: str(current_app.config[name])


def per_client_and_email(client_setting: str, email_setting: str):
    """Return a decorator limiting a view per client address and per posted e-mail address."""

    def decorate(view):
        view = limiter.limit(limit(email_setting), key_func=email_key, exempt_when=no_email)(view)
        return limiter.limit(limit(client_setting), key_func=client_address)(view)

    return decorate


def posted_email() -> str:
    """Return the normalised e-mail address of the posted form, or '' if there is none."""
    raw = (request.form.get("email") or "")[:300]
    try:
        return normalise_email(raw)
    except InvalidEmail:
        return ""


def email_key() -> str:
    """Return the rate-limit key of the target address (hashed: keys may sit in Redis)."""
    digest = hashlib.sha256(posted_email().encode()).hexdigest()[:32]
    return f"email:{digest}"


def no_email() -> bool:
    """Return True when the posted form holds no valid address (nothing to limit by)."""
    return not posted_email()


client_address = get_remote_address
