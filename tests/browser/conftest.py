"""Browser tests: Debian's Chromium through Playwright, against the app served by gunicorn.

Fixtures here:
- `browser_type_launch_args` (session): launches /usr/bin/chromium headless; never
  `playwright install`.
- `live_server` (module): a database built by the real migrations, the demo programme, and
  gunicorn (2 workers) on a free loopback port. Module scope because starting gunicorn costs
  a couple of seconds, while each test module gets its own database and server: rows one
  module creates never leak into another, and a module can change the server's environment
  by overriding `live_server_env`.
- `js_off_page`: a page in a context with JavaScript disabled.
- `assert_accessible(page)`: axe-core (WCAG 2.0/2.1 A and AA) must find 0 violations.

Every test under tests/browser/ carries the `browser` marker, so it skips with a clear
reason where Chromium is missing (see tests/conftest.py), and fails in CI.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from irev import create_app
from irev.extensions import db
from tests.conftest import TEST_CONFIG, database_url, drop_schema

ROOT = Path(__file__).resolve().parents[2]
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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test of this folder `browser` (the root conftest skips them without Chromium)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    """Launch Debian's Chromium, headless, without background traffic."""
    return {"executable_path": CHROMIUM_PATH, "headless": True, "args": CHROMIUM_ARGS}


# --- the live server ---------------------------------------------------------------------


@dataclass
class LiveServer:
    """A running gunicorn: its address, and an in-process app on the same database."""

    url: str
    database_url: str
    app: Flask
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    def log(self) -> str:
        """Return what gunicorn wrote so far (access and error logs)."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def _gunicorn_has_control_socket() -> bool:
    """Return True for gunicorn versions that open a control socket by default."""
    from gunicorn import config

    return any(setting.name == "control_socket_disable" for setting in config.KNOWN_SETTINGS)


#: One fixed control socket path per user would clash between servers running at once.
_NO_CONTROL_SOCKET = ["--no-control-socket"] if _gunicorn_has_control_socket() else []


def _free_port() -> int:
    """Return a TCP port free on the loopback interface right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_healthy(url: str, process: subprocess.Popen, log_path: Path) -> None:
    """Poll /healthz until it answers 200; fail with gunicorn's log if it never does."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    _stop(process)
    log = log_path.read_text(encoding="utf-8", errors="replace")
    pytest.fail(f"gunicorn did not answer {url}/healthz (exit code {process.poll()}):\n{log}")


def _stop(process: subprocess.Popen) -> None:
    """Stop gunicorn gracefully (SIGTERM), then kill it if it lingers."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


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
def live_server(
    tmp_path_factory: pytest.TempPathFactory, live_server_env: dict[str, str]
) -> Iterator[LiveServer]:
    """Serve the app with gunicorn on a fresh database holding the demo programme."""
    tmp = tmp_path_factory.mktemp("live")
    url_db, schema = database_url(tmp)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    app = _build_database(url_db, url)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FLASK_")},
        # TESTING, because production refuses plain http and a missing SMTP server; but
        # exceptions are not propagated, so gunicorn serves the French 500 page as in
        # production. CSRF and rate limits stay on (TEST_CONFIG applies in-process only).
        "FLASK_TESTING": "true",
        "FLASK_PROPAGATE_EXCEPTIONS": "false",
        "FLASK_SECRET_KEY": secrets.token_urlsafe(32),
        "FLASK_SQLALCHEMY_DATABASE_URI": url_db,
        "FLASK_IREV_BASE_URL": url,
        "PYTHONUNBUFFERED": "1",
        **live_server_env,
    }
    log_path = tmp / "gunicorn.log"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--graceful-timeout",
        "5",
        *_NO_CONTROL_SOCKET,
        "--access-logfile",
        "-",
        "--error-logfile",
        "-",
        "wsgi:app",
    ]
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
    try:
        _wait_until_healthy(url, process, log_path)
        yield LiveServer(url=url, database_url=url_db, app=app, log_path=log_path, env=env)
    finally:
        _stop(process)
        with app.app_context():
            db.engine.dispose()
        drop_schema(schema)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Attach gunicorn's log to the report of a failed browser test."""
    report = yield
    if report.failed and call.when in ("setup", "call"):
        server = getattr(item, "funcargs", {}).get("live_server")
        if isinstance(server, LiveServer):
            report.sections.append(("gunicorn log", server.log()[-20000:]))
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
