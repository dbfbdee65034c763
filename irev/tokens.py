"""Signed, salted, expiring tokens for links sent by e-mail.

A token only proves who it was made for; the caller checks it against the database (a used
confirmation, a raised Person.link_version) so that an old link does nothing.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

#: One salt per purpose: a token made for one purpose is refused for any other.
PURPOSES = frozenset(
    {
        "confirm",
        "manage",
        "cancel",
        "assistant",
        "reconfirm",
        "staff_invite",
        "staff_reset",
        "questionnaire",
    }
)


class InvalidToken(ValueError):
    """The link is tampered with, made for another purpose, or unreadable."""


class ExpiredToken(InvalidToken):
    """The link was genuine but is too old."""


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    """Return the serializer of a purpose for the app's secret key (built once per key)."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose: {purpose}")
    return _serializer_for(current_app.config["SECRET_KEY"], purpose)


@lru_cache(maxsize=32)
def _serializer_for(secret_key: str, purpose: str) -> URLSafeTimedSerializer:
    """Build a serializer (it holds only the key and salt; each call signs on its own)."""
    return URLSafeTimedSerializer(secret_key, salt=f"irev-{purpose}")


def make_token(purpose: str, payload: dict[str, Any]) -> str:
    """Return a signed token carrying payload for purpose."""
    return str(_serializer(purpose).dumps(payload))


def read_token(purpose: str, token: str, max_age_days: float | None = None) -> dict[str, Any]:
    """Return the payload of a valid token, or raise ExpiredToken / InvalidToken."""
    days = max_age_days or current_app.config["IREV_LINK_MAX_AGE_DAYS"]
    try:
        payload = _serializer(purpose).loads(token, max_age=int(days * 86400))
    except SignatureExpired as error:
        raise ExpiredToken(purpose) from error
    except BadSignature as error:
        raise InvalidToken(purpose) from error
    if not isinstance(payload, dict):
        raise InvalidToken(purpose)
    return payload
