"""Fixtures: an app with its own database per test (SQLite, or PostgreSQL when
TEST_DATABASE_URL is set), factories, and the CI rule that nothing may skip."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from flask import Flask

from irev import create_app
from irev.extensions import db
from tests import factories
from tests.admin_helpers import staff_client  # noqa: F401  (fixture: a signed-in staff member)
from tests.smtp_server import smtp_server  # noqa: F401  (fixture: a real SMTP server)
from tests.territory_support import (  # noqa: F401  (fixtures: communes and EPCI loaded)
    all_territories,
    territories,
    territory_subset_dir,
)

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
ON_POSTGRESQL = TEST_DATABASE_URL.startswith("postgresql")
IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = shutil.which("chromium") or shutil.which("/usr/bin/chromium")


def pytest_report_header(config: pytest.Config) -> str:
    backend = "PostgreSQL (TEST_DATABASE_URL)" if ON_POSTGRESQL else "SQLite"
    return f"irev: database {backend}; chromium {CHROMIUM or 'absent'}; CI={IN_CI}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip (or, in CI, leave to the PostgreSQL pass) what this machine cannot run."""
    deselected = []
    kept = []
    for item in items:
        if "postgresql" in item.keywords and not ON_POSTGRESQL:
            if IN_CI:  # CI runs the suite again on PostgreSQL, where these run
                deselected.append(item)
                continue
            item.add_marker(
                pytest.mark.skip(
                    reason="needs PostgreSQL: set TEST_DATABASE_URL=postgresql+psycopg://…"
                )
            )
        if "browser" in item.keywords and not CHROMIUM:
            item.add_marker(
                pytest.mark.skip(reason="needs Debian's Chromium: apt-get install -y chromium")
            )
        kept.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI a skipped test is a failure: every test must run somewhere."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if IN_CI and skipped:
        message = f"CI: {len(skipped)} test(s) skipped; nothing may skip in CI."
        reporter.write_line(message, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def database_url(tmp_path) -> tuple[str, str | None]:
    """Return a fresh database URL for one test, and the PostgreSQL schema it lives in."""
    if not ON_POSTGRESQL:
        return f"sqlite:///{tmp_path / 'test.sqlite3'}", None
    schema = f"t_{uuid.uuid4().hex[:16]}"
    engine = sa.create_engine(TEST_DATABASE_URL)
    with engine.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    separator = "&" if "?" in TEST_DATABASE_URL else "?"
    return f"{TEST_DATABASE_URL}{separator}options={quote(f'-csearch_path={schema}')}", schema


def drop_schema(schema: str | None) -> None:
    """Drop a test's PostgreSQL schema."""
    if schema:
        engine = sa.create_engine(TEST_DATABASE_URL)
        with engine.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


TEST_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key",
    "WTF_CSRF_ENABLED": False,
    "RATELIMIT_ENABLED": False,
    "IREV_BASE_URL": "http://irev.test",
    "SERVER_NAME": None,
}


@pytest.fixture(autouse=True)
def test_clock() -> Iterator[None]:
    """With IREV_TEST_CLOCK set (an ISO instant), every test starts at that instant.

    The clock still ticks. A test that holds only at some hours of the day (a meeting « in
    three hours » that crosses midnight) fails at once instead of once a month in CI:
    ``IREV_TEST_CLOCK=2026-12-31T22:40:00Z make test``. Tests that meet a clock freezegun
    cannot move (the private Postfix's, the rate-limit windows of the `limits` library) fail
    under any frozen instant: read their failures against a run on the real clock.
    """
    moment = os.environ.get("IREV_TEST_CLOCK")
    if not moment:
        yield
        return
    from freezegun import freeze_time

    with freeze_time(moment, tick=True):
        yield


@pytest.fixture
def db_url(tmp_path) -> Iterator[str]:
    """A fresh, empty database for this test."""
    url, schema = database_url(tmp_path)
    yield url
    drop_schema(schema)


@pytest.fixture
def app_config() -> dict:
    """Settings for the test app; override this fixture in a module to change them."""
    return {}


@pytest.fixture
def app(db_url: str, app_config: dict) -> Iterator[Flask]:
    """An application with its own database, tables created, inside an app context."""
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": db_url, **app_config})
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask):
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def create_programme(app):
    return factories.create_programme


@pytest.fixture
def create_meeting(app):
    return factories.create_meeting


@pytest.fixture
def create_person(app):
    return factories.create_person


@pytest.fixture
def create_registration(app):
    return factories.create_registration
