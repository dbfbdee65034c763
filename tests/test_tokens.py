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
