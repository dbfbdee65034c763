"""Security headers sent with every response."""

from __future__ import annotations

from flask import Flask, Response, request

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
    ]
)


#: Pages whose URL holds an e-mailed token send this instead of the default. A token must never
#: leave in a Referer to another site, but the page's own form POST needs its Referer: over
#: HTTPS, Flask-WTF (WTF_CSRF_SSL_STRICT) refuses a POST without a same-origin Referer, and
#: `no-referrer` would make every button on such a page answer 400. `same-origin` sends the
#: full URL to this site only (whose logs mask tokens) and nothing to any other.
TOKEN_PAGE_REFERRER_POLICY = "same-origin"

#: Sent with every response unless the view set its own value.
HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)
_LOWERED = tuple((name.lower(), name, value) for name, value in HEADERS)


def init_app(app: Flask) -> None:
    """Add the security headers to every response."""

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        # One pass over the response's headers, not one per setdefault(): this runs every time.
        present = {name.lower() for name, _ in headers.items()}
        headers.extend([(name, value) for low, name, value in _LOWERED if low not in present])
        if app.config["IREV_HSTS"] and request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        # Same URL, two bodies: full page or htmx fragment.
        response.vary.add("HX-Request")
        return response
