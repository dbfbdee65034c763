"""Absolute links for e-mails and calendars, on the configured public address (IREV_BASE_URL).

E-mails are rendered by the mail worker, which has no request, and a link queued during a
request must not take that request's Host (a forged header, an internal name behind the proxy).
So these links are built the way url_for(..., _external=True) builds them, from the endpoint and
its values with the URL defaults applied, but on the app's URL map bound to IREV_BASE_URL
instead of the request. A renamed route then renames every e-mailed link with it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app


def base_url() -> str:
    """Return the public address of the site, without a trailing slash."""
    return str(current_app.config["IREV_BASE_URL"]).rstrip("/")


def external_url(endpoint: str, **values: Any) -> str:
    """Return the absolute URL of an endpoint on IREV_BASE_URL (extra values: query string)."""
    parts = urlsplit(base_url())
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme or "https"
    )
    current_app.inject_url_defaults(endpoint, values)
    return adapter.build(endpoint, values, force_external=True)
