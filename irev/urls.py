"""Absolute links for e-mails and calendars, on the configured public address (IREV_BASE_URL).

E-mails are rendered by the mail worker, which has no request, and a link queued during a
request must not take that request's Host (a forged header, an internal name behind the proxy).
So these links are built the way url_for(..., _external=True) builds them, from the endpoint and
its values with the URL defaults applied, but on the app's URL map bound to IREV_BASE_URL
instead of the request. A renamed route then renames every e-mailed link with it.

A batch of e-mails builds the same links again and again (the programme, one meeting's form)
and signed links that differ only by their token: within `memoized()` each link is built
once, and a token link once per endpoint with the token put in its place (a token holds only
characters a URL path carries as they are; anything else takes the full build).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

from flask import current_app

#: What an itsdangerous URL-safe token is made of: characters a path segment keeps unquoted.
_TOKEN = re.compile(r"[A-Za-z0-9_.\-]+")
#: Stands for the token while a link's frame is built (a token never holds "~").
_PLACEHOLDER = "~irev~token~"

#: Links built during a batch (see memoized()): {key: url} and {endpoint: (before, after)}.
_memo: ContextVar[dict[Any, Any] | None] = ContextVar("irev_url_memo", default=None)


@contextmanager
def memoized() -> Iterator[None]:
    """Build each link once for the block (a batch of e-mails), on the settings of its start.

    The memo ends with the block: the long-running mail worker builds its links afresh for
    every batch.
    """
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def base_url() -> str:
    """Return the public address of the site, without a trailing slash."""
    return str(current_app.config["IREV_BASE_URL"]).rstrip("/")


def external_url(endpoint: str, **values: Any) -> str:
    """Return the absolute URL of an endpoint on IREV_BASE_URL (extra values: query string)."""
    memo = _memo.get()
    if memo is None:
        return _build(endpoint, values)
    token = values.get("token")
    if len(values) == 1 and isinstance(token, str) and _TOKEN.fullmatch(token):
        frame = memo.get(("token", endpoint))
        if frame is None:
            frame = memo[("token", endpoint)] = _token_frame(endpoint)
        if frame:
            return f"{frame[0]}{token}{frame[1]}"
        return _build(endpoint, values)
    try:
        key = (endpoint, tuple(sorted(values.items())))
        hash(key)
    except TypeError:  # a value that cannot be a key (a list): built each time
        return _build(endpoint, values)
    url = memo.get(key)
    if url is None:
        url = memo[key] = _build(endpoint, dict(values))
    return url


def _token_frame(endpoint: str) -> tuple[str, str] | tuple[()]:
    """Return the link of an endpoint before and after its token, or () if it has no slot."""
    url = _build(endpoint, {"token": _PLACEHOLDER})
    if url.count(_PLACEHOLDER) != 1:
        return ()
    before, after = url.split(_PLACEHOLDER)
    return before, after


def _build(endpoint: str, values: dict[str, Any]) -> str:
    """Build one link on the URL map bound to IREV_BASE_URL."""
    parts = urlsplit(base_url())
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme or "https"
    )
    current_app.inject_url_defaults(endpoint, values)
    return adapter.build(endpoint, values, force_external=True)
