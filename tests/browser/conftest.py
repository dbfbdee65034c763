"""Browser tests: Debian's Chromium through Playwright, against the app served by gunicorn
as in production.

Fixtures here:
- `tls` (session): a certificate authority made for the run and a server certificate for
  127.0.0.1 (tests/servers.py).
- `browser_type_launch_args` (session): launches /usr/bin/chromium headless, trusting the
  run's server certificate (by its public key); never `playwright install`.
- `live_server` (module): a database built by the real migrations, the demo programme,
  gunicorn (2 workers) over TLS on a free loopback port in production mode (no FLASK_TESTING:
  Secure cookies, HSTS, an https:// base URL, Flask-WTF's strict referrer check), a real SMTP
  server (aiosmtpd) and production's mail worker (`flask mail worker`) delivering to it.
  `live_server.mail_link(to, path)` waits for a message to arrive there and returns the link
  it holds. Module scope because starting the processes costs a couple of seconds, while each
  test module gets its own database and servers: rows one module creates never leak into
  another, and a module can change the server's environment by overriding `live_server_env`.
- `js_off_page`: a page in a context with JavaScript disabled.
- `assert_accessible(page)`: axe-core (WCAG 2.0/2.1 A and AA) must find 0 violations.

Every test under tests/browser/ carries the `browser` marker, so it skips with a clear
reason where Chromium is missing (see tests/conftest.py), and fails in CI.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from irev import create_app
from irev.extensions import db
from tests import servers
from tests.conftest import TEST_CONFIG, database_url, drop_schema
from tests.smtp_server import Received, SmtpServer

CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
#: Seconds gunicorn may take to answer /healthz before the fixture gives up.
STARTUP_TIMEOUT = 30
#: Seconds an e-mail may take to reach the SMTP server (the worker passes every 0.2 s).
MAIL_TIMEOUT = 30


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test of this folder `browser` (the root conftest skips them without Chromium)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> servers.Tls:
    """A certificate authority for this run and a server certificate for 127.0.0.1."""
    return servers.make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def browser_type_launch_args(tls: servers.Tls) -> dict[str, Any]:
    """Launch Debian's Chromium, headless, without background traffic, trusting the server
    certificate made for this run (that key only: any other certificate error still fails)."""
    trust = f"--ignore-certificate-errors-spki-list={tls.spki_sha256}"
    return {"executable_path": CHROMIUM_PATH, "headless": True, "args": [*CHROMIUM_ARGS, trust]}


# --- the live server ---------------------------------------------------------------------


@dataclass
class LiveServer:
    """A running gunicorn and mail worker: the site's address, the SMTP server that receives
    its mail, and an in-process app on the same database (to seed rows and read outcomes)."""

    url: str
    database_url: str
    app: Flask
    log_path: Path
    smtp: SmtpServer
    tls: servers.Tls
    worker_log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    def log(self) -> str:
        """Return what gunicorn wrote so far (access and error logs)."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def worker_log(self) -> str:
        """Return what the mail worker wrote so far."""
        return self.worker_log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for_mail(self, to: str, *contains: str, timeout: float = MAIL_TIMEOUT) -> Received:
        """Wait until a message to `to` whose plain text holds every `contains` reaches the
        SMTP server; return the latest such message."""
        deadline = time.monotonic() + timeout
        while True:
            with self.smtp.lock:
                found = [
                    m for m in self.smtp.to(to) if all(text in plain_text(m) for text in contains)
                ]
            if found:
                return found[-1]
            if time.monotonic() > deadline:
                subjects = [str(m.message["Subject"]) for m in self.smtp.to(to)]
                raise AssertionError(
                    f"no e-mail to {to} holding {contains!r} within {timeout} s; "
                    f"received: {subjects}\nmail worker log:\n{self.worker_log()[-3000:]}"
                )
            time.sleep(0.1)

    def mail_link(self, to: str, path: str, also: str | None = None) -> str:
        """Wait for a message to `to` linking to this site under `path` (and holding `also`,
        when given); return the link."""
        pattern = re.compile(re.escape(self.url + path) + r"[^\s<>\"]*")
        wanted = (self.url + path, also) if also else (self.url + path,)
        match = pattern.search(plain_text(self.wait_for_mail(to, *wanted)))
        assert match, f"no link under {path} in the e-mail to {to}"
        return match.group(0)


#: The password of the staff accounts the browser modules create.
STAFF_PASSWORD = "une phrase de passe assez longue"


def sign_in(page, base_url: str, email: str, password: str = STAFF_PASSWORD) -> None:
    """Send the staff sign-in form and wait for the dashboard."""
    from playwright.sync_api import expect

    page.goto(base_url + "/admin/connexion")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button:has-text('Se connecter')")
    expect(page.locator("h1")).to_have_text("Tableau de bord")


def past_meeting(programme_id: int, slug: str, title: str, days_ago: int, **values: Any):
    """Return a published meeting of two hours that began `days_ago` days ago, on the hour."""
    from datetime import timedelta

    from irev.models import Meeting, MeetingStatus, utcnow

    starts = (utcnow() - timedelta(days=days_ago)).replace(minute=0, second=0, microsecond=0)
    fields: dict[str, Any] = dict(capacity=10, status=MeetingStatus.PUBLISHED)
    fields.update(values)
    return Meeting(
        programme_id=programme_id,
        slug=slug,
        title=title,
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        **fields,
    )


def plain_text(received: Received) -> str:
    """Return the plain-text part of a received message."""
    part = received.message.get_body(preferencelist=("plain",))
    assert part is not None, f"no text/plain part in {received.message['Subject']}"
    return part.get_content()


def _build_database(url: str, base_url: str) -> Flask:
    """Build the schema with the real migrations and load the demo programme."""
    from flask_migrate import upgrade

    from irev.services import programmes

    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url, "IREV_BASE_URL": base_url})
    with app.app_context():
        upgrade()
        data = programmes.read_programme_file(programmes.DEFAULT_FILE)
        programmes.load_programme(data, demo=True)
        db.session.commit()
        db.session.remove()
    return app


@pytest.fixture(scope="module")
def live_server_env() -> dict[str, str]:
    """Extra environment for the module's gunicorn; override it in a test module to add some."""
    return {}


@pytest.fixture(scope="module")
def module_smtp() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on a free loopback port, for one module's live server."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def live_server(
    tmp_path_factory: pytest.TempPathFactory,
    live_server_env: dict[str, str],
    module_smtp: SmtpServer,
    tls: servers.Tls,
) -> Iterator[LiveServer]:
    """Serve the app as in production (gunicorn over TLS, mail worker, SMTP server) on a fresh
    database holding the demo programme."""
    tmp = tmp_path_factory.mktemp("live")
    url_db, schema = database_url(tmp)
    port = servers.free_port()
    url = servers.origin(port)
    app = _build_database(url_db, url)
    env = servers.server_env(url_db, url, mail_port=module_smtp.port, extra=live_server_env)
    log_path = tmp / "gunicorn.log"
    worker_log_path = tmp / "mail-worker.log"
    try:
        with (
            servers.gunicorn(
                port,
                env,
                log_path,
                tls=tls,
                startup_timeout=STARTUP_TIMEOUT,
                workers=2,
                access_log=True,
            ),
            servers.mail_worker(env, worker_log_path),
        ):
            yield LiveServer(
                url=url,
                database_url=url_db,
                app=app,
                log_path=log_path,
                smtp=module_smtp,
                tls=tls,
                worker_log_path=worker_log_path,
                env=env,
            )
    finally:
        with app.app_context():
            db.engine.dispose()
        drop_schema(schema)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Attach gunicorn's and the mail worker's logs to the report of a failed browser test."""
    report = yield
    if report.failed and call.when in ("setup", "call"):
        server = getattr(item, "funcargs", {}).get("live_server")
        if isinstance(server, LiveServer):
            report.sections.append(("gunicorn log", server.log()[-20000:]))
            report.sections.append(("mail worker log", server.worker_log()[-5000:]))
    return report


# --- pages ---------------------------------------------------------------------------------


@pytest.fixture
def js_off_page(new_context):
    """A page whose context runs no JavaScript: everything must work without it."""
    return new_context(java_script_enabled=False).new_page()


# --- accessibility -------------------------------------------------------------------------


def _describe(results: list[dict[str, Any]]) -> str:
    """Format axe results as readable lines: id, impact, help, target of each node."""
    lines = []
    for rule in results:
        lines.append(f"- {rule['id']} ({rule.get('impact') or 'n/a'}): {rule['help']}")
        lines.append(f"  {rule.get('helpUrl', '')}")
        for node in rule["nodes"]:
            target = " ".join(str(t) for t in node["target"])
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"    * {target}: {summary}".rstrip(": "))
            lines.append(f"      {node.get('html', '')[:200]}")
    return "\n".join(lines)


def run_axe(page) -> dict[str, Any]:
    """Run axe-core on the page with the WCAG 2.0/2.1 A and AA rules; return its raw results."""
    from axe_playwright_python.sync_playwright import Axe

    options = {
        "runOnly": {"type": "tag", "values": AXE_TAGS},
        "resultTypes": ["violations", "incomplete"],
    }
    return Axe().run(page, options=options).response


def poll(page, expression: str, tries: int = 100) -> bool:
    """Return True once expression holds. Evaluated from Playwright's side: it works without
    JavaScript and under the site's CSP, where page.wait_for_function (eval) cannot run.
    Needed for autofocus too, which the browser applies at its next rendering step."""
    for _ in range(tries):
        if page.evaluate(expression):
            return True
        page.wait_for_timeout(50)
    return False


def assert_accessible(page) -> list[dict[str, Any]]:
    """Fail with a readable list if axe finds violations; return the "incomplete" results.

    "Incomplete" results are what axe could not decide (contrast over an image, ...):
    they need a human look, so they are returned and printed rather than asserted.
    """
    results = run_axe(page)
    violations = results["violations"]
    assert not violations, (
        f"axe found {len(violations)} accessibility violation(s) on {page.url}:\n"
        + _describe(violations)
    )
    incomplete = results["incomplete"]
    if incomplete:
        print(f"axe: {len(incomplete)} result(s) to review by hand on {page.url}:")
        print(_describe(incomplete))
    return incomplete


@pytest.fixture
def axe():
    """The accessibility assertion, as a fixture for modules that prefer one."""
    return assert_accessible
