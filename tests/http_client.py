"""A small HTTP visitor for tests against a real server: cookies by hand, CSRF from forms."""

from __future__ import annotations

import http.client
import re
import ssl
from urllib.parse import urlencode

_CSRF = (
    re.compile(r'name="csrf_token"[^>]*value="([^"]+)"'),
    re.compile(r'value="([^"]+)"[^>]*name="csrf_token"'),
)


def csrf_token(html: str) -> str | None:
    """Return the CSRF token of the first form in a page, or None."""
    for pattern in _CSRF:
        match = pattern.search(html)
        if match:
            return match.group(1)
    return None


class Client:
    """A visitor to one app instance on 127.0.0.1, keeping its cookies by hand.

    With `tls` (a context trusting the test run's authority, see tests/servers.py) it talks
    HTTPS as a browser does, certificate verified. Without it, plain HTTP: the benchmarks talk
    to gunicorn the way nginx does, on loopback, where the app's Secure cookies would be
    dropped by a cookie jar; so cookies are kept here, whatever the scheme. Like a browser
    under `Referrer-Policy: same-origin`, every request after the first sends the URL of the
    last page fetched as its Referer (Flask-WTF requires it on POSTs over HTTPS). Redirects are
    not followed.
    """

    def __init__(
        self,
        port: int,
        address: str = "",
        timeout: float = 30,
        *,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.port = port
        self.address = address
        self.timeout = timeout
        self.tls = tls
        self.origin = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
        self.cookies: dict[str, str] = {}
        #: The last page fetched, sent as the Referer of the next request.
        self.page = ""

    def _connection(self) -> http.client.HTTPConnection:
        """Open a connection to the instance (TLS, certificate verified, when configured)."""
        if self.tls is not None:
            return http.client.HTTPSConnection(
                "127.0.0.1", self.port, timeout=self.timeout, context=self.tls
            )
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)

    def request(
        self, method: str, path: str, form: dict | None = None, headers: dict | None = None
    ) -> tuple[int, str]:
        """Send one request; return the status and the body."""
        status, _, text = self.exchange(method, path, form, headers)
        return status, text

    def exchange(
        self, method: str, path: str, form: dict | None = None, headers: dict | None = None
    ) -> tuple[int, http.client.HTTPMessage, str]:
        """Send one request; return the status, the response headers and the body."""
        connection = self._connection()
        headers = dict(headers or {})
        if self.page:
            headers.setdefault("Referer", self.origin + self.page)
        if self.address:
            headers["X-Forwarded-For"] = self.address  # one proxy hop (FLASK_IREV_PROXY_HOPS=1)
        body = None
        if form is not None:
            body = urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _, value = header.split(";", 1)[0].partition("=")
                self.cookies[name] = value
            if method == "GET":
                self.page = path
            return response.status, response.headers, text
        finally:
            connection.close()

    def post_form(self, path: str, data: dict) -> tuple[int, http.client.HTTPMessage, str]:
        """GET a page, then post its form with the CSRF token it holds."""
        status, page = self.request("GET", path)
        token = csrf_token(page) if status == 200 else None
        return self.exchange("POST", path, {**data, "csrf_token": token or ""})

    def csrf(self, path: str) -> str:
        """GET a page and return the CSRF token of its form."""
        status, body = self.request("GET", path)
        assert status == 200, (path, status)
        token = csrf_token(body)
        assert token, f"no CSRF token on {path}"
        return token

    def register(self, email: str, meeting_slug: str) -> int:
        """Fill and send the registration form; return the status."""
        token = self.csrf("/inscription")
        form = {
            "csrf_token": token,
            "first_name": "Camille",
            "last_name": "Martin",
            "email": email,
            "organisation": "Commune de Roubaix",
            "mandate": "maire",
            "department": "Nord",
            "meetings": meeting_slug,
            "data_notice": "y",
            "website": "",
        }
        return self.request("POST", "/inscription", form)[0]
