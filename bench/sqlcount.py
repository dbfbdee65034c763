"""Count the SQL statements one request runs, in this process (never in the served app)."""

from __future__ import annotations

import itertools
import re
from typing import Any

import common
from sqlalchemy import event

_numbers = itertools.count(1)


def _csrf(body: str) -> str:
    """Return the CSRF token of the first form on a page."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', body) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', body
    )
    return match.group(1) if match else ""


def _submit_data(client, route) -> dict[str, str]:
    """Return a valid registration form with a new e-mail address and a real CSRF token."""
    body = client.get("/inscription").get_data(as_text=True)
    return {
        "csrf_token": _csrf(body),
        "first_name": "Camille",
        "last_name": "Martin",
        "email": f"sqlcount-{route.script_env['BENCH_RUN']}-{next(_numbers)}@commune.example",
        "organisation": "Commune de Roubaix",
        "mandate": "maire",
        "department": "Nord",
        "meetings": route.script_env["BENCH_MEETING"],
        "data_notice": "y",
        "website": "",
    }


def _sign_in(client) -> None:
    """Sign the benchmark's staff account in on this test client."""
    body = client.get("/admin/connexion").get_data(as_text=True)
    client.post(
        "/admin/connexion",
        headers={"Referer": "https://localhost/admin/connexion"},
        data={
            "csrf_token": _csrf(body),
            "email": common.STAFF_EMAIL,
            "password": common.STAFF_PASSWORD,
        },
    )


def statements(app, route, base: str) -> tuple[int, int]:
    """Return the statements of the first request of a route in this process, and of a later one."""
    from irev.extensions import db

    counted: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        counted.append(statement)

    client = app.test_client()
    if route.name.startswith("admin"):
        _sign_in(client)
    results = []
    with app.app_context():
        engine = db.engine
    for _ in range(2):
        data = _submit_data(client, route) if route.script else None
        event.listen(engine, "before_cursor_execute", count)
        try:
            counted.clear()
            if data is not None:
                # Production settings: HTTPS, so Flask-WTF also checks the Referer.
                referrer = {"Referer": f"https://localhost{route.path}"}
                response = client.post(route.path, data=data, headers=referrer)
            else:
                response = client.get(route.path, headers=route.headers)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        if response.status_code >= 400:
            raise RuntimeError(f"{route.name}: {response.status_code} in-process")
        results.append(len(counted))
    return results[0], results[1]


def check_submissions(app, run_id: str) -> str:
    """Return a line proving the submitted forms were recorded (people, requests, e-mails)."""
    from irev.extensions import db
    from irev.models import OutboundEmail, Person, Registration

    pattern = f"bench-{run_id}-%"
    with app.app_context():
        people = db.session.scalar(
            db.select(db.func.count(Person.id)).where(Person.email.like(pattern))
        )
        registrations = db.session.scalar(
            db.select(db.func.count(Registration.id)).join(Person).where(Person.email.like(pattern))
        )
        emails = db.session.scalar(
            db.select(db.func.count(OutboundEmail.id)).where(OutboundEmail.to_address.like(pattern))
        )
    return (
        f"submissions recorded: {people} people, {registrations} registration requests, "
        f"{emails} e-mails queued"
    )
