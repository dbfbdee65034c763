"""Flask's signed-cookie sessions, with the signing serializer built once instead of per request.

Flask builds a new URLSafeTimedSerializer for every request, before it even looks for a cookie,
and building one serialises a test value to learn its type. The serializer holds nothing but the
keys and settings, so one per set of keys serves every request (it is thread-safe: each
dumps/loads makes its own signer). Everything else is Flask's SecureCookieSessionInterface.
"""

from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


class SessionInterface(SecureCookieSessionInterface):
    """Signed-cookie sessions whose serializer is reused while the keys stay the same."""

    def __init__(self) -> None:
        self._serializers: dict[tuple, URLSafeTimedSerializer | None] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        """Return the serializer for the app's current keys, built on first use."""
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        found = self._serializers.get(keys)
        if found is None:
            found = super().get_signing_serializer(app)
            self._serializers = {keys: found}  # keys changed (tests): forget the old ones
        return found


def init_app(app: Flask) -> None:
    """Use the caching session interface."""
    app.session_interface = SessionInterface()
