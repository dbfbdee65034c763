"""The core path as deployed: Chromium, HTTPS, production mode, e-mails through a real SMTP server.

Every step is what an elected official or a staff member does, on the site served as
docs/deploy.md describes (tests/browser/conftest.py: gunicorn over TLS, no test mode, Secure
cookies, HSTS, Flask-WTF's strict HTTPS referrer check), and every link is read from an e-mail
that production's mail worker delivered to aiosmtpd: register, confirm from the e-mail, cancel
one meeting, add two, correct the details, withdraw from the reminder's link, cancel all that
is left; then a staff sign-in and one moderation action. Runs on SQLite, and on PostgreSQL
with TEST_DATABASE_URL.
"""

from __future__ import annotations

import itertools
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from irev.extensions import db
from irev.models import (
    ApprovalMode,
    Meeting,
    MeetingStatus,
    Person,
    Registration,
    RegistrationState,
    utcnow,
)
from irev.services import staff
from irev.services.programmes import get_current_programme
from tests.browser.conftest import assert_accessible

S = RegistrationState
HSTS = "max-age=31536000; includeSubDomains"
#: Tomorrow's meeting, with its video link: inside the schedule below, so the worker sends the
#: reminder (the video-link e-mail, with its withdraw link) as soon as the person is seated.
SOON = "seance-de-demain"
VIDEO_URL = "https://visio.example/j/8765432100"
STAFF_EMAIL = "moderation@irev.fr"
STAFF_PASSWORD = "une phrase de passe assez longue"
#: Pages whose URL holds an e-mailed token.
TOKEN_PATH = re.compile(r"/inscription/(confirmer|gerer|annuler)/")
#: A POST in gunicorn's access log: path and status.
SERVED_POST = re.compile(r'"POST (\S+) HTTP/[\d.]+" (\d{3}) ')
_counter = itertools.count(1)


@pytest.fixture(scope="module")
def live_server_env() -> dict[str, str]:
    """Send the video link two days before a meeting (so now, for tomorrow's)."""
    return {"FLASK_IREV_VIDEO_LINK_SCHEDULE": "2j"}


@pytest.fixture(scope="module")
def meetings(live_server) -> dict[str, str]:
    """Add tomorrow's meeting to the demo programme and moderate one meeting; return the
    slugs and titles the tests use: first (to cancel), added and added_too (to add, then
    cancel all), moderated."""
    with live_server.app.app_context():
        programme = get_current_programme()
        starts = (utcnow() + timedelta(days=1)).replace(microsecond=0)
        db.session.add(
            Meeting(
                programme=programme,
                slug=SOON,
                title="Séance de demain : la rénovation des écoles",
                starts_at=starts,
                ends_at=starts + timedelta(hours=2),
                status=MeetingStatus.PUBLISHED,
                capacity=20,
                video_url=VIDEO_URL,
                video_meeting_id="876 5432 100",
            )
        )
        upcoming = db.session.scalars(
            sa.select(Meeting)
            .where(
                Meeting.programme_id == programme.id,
                Meeting.slug != SOON,
                Meeting.status == MeetingStatus.PUBLISHED,
                Meeting.starts_at > utcnow(),
            )
            .order_by(Meeting.starts_at)
        ).all()
        assert len(upcoming) >= 4, "the demo programme has too few meetings to come"
        first, added, added_too, moderated = upcoming[0], upcoming[1], upcoming[2], upcoming[-1]
        moderated.approval_mode = ApprovalMode.MODERATED
        staff.create_staff(STAFF_EMAIL, STAFF_PASSWORD, "Équipe de modération")
        db.session.commit()
        names = {
            "first": first.slug,
            "first_title": first.title,
            "added": added.slug,
            "added_too": added_too.slug,
            "moderated": moderated.slug,
            "moderated_id": str(moderated.id),
        }
        db.session.remove()
    return names


def address() -> str:
    """Return a fresh e-mail address (rate limits count per address)."""
    return f"elue{next(_counter)}@production.example"


def states_of(live_server, to: str) -> dict[str, S]:
    """Return {meeting slug: state} of a person's registrations."""
    with live_server.app.app_context():
        rows = db.session.execute(
            sa.select(Meeting.slug, Registration.state)
            .join(Registration.meeting)
            .join(Registration.person)
            .where(Person.email == to)
        )
        states = dict(rows.all())
        db.session.remove()
        return states


def assert_production_headers(response, referrer_policy: str) -> None:
    """Check what production adds to every page served over HTTPS."""
    assert response is not None and response.ok, response and response.status
    headers = response.headers
    assert headers["strict-transport-security"] == HSTS
    assert headers["referrer-policy"] == referrer_policy
    assert urlsplit(response.url).scheme == "https"


def assert_token_page(response) -> None:
    """A page whose URL holds a token: no cross-site Referer, no cache, no index."""
    assert_production_headers(response, "same-origin")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-robots-tag"] == "noindex, nofollow"


def assert_secure_cookies(context) -> None:
    """Every cookie the site set is Secure and HttpOnly, SameSite=Lax."""
    cookies = context.cookies()
    assert cookies, "the site set no cookie (no session, so no CSRF token?)"
    for cookie in cookies:
        assert cookie["secure"], cookie["name"]
        assert cookie["httpOnly"], cookie["name"]
        assert cookie["sameSite"] == "Lax", cookie["name"]


def test_an_official_registers_confirms_and_manages_everything_from_the_emails(
    page, live_server, meetings
):
    email = address()
    posts = []
    page.on(
        "request",
        lambda request: (
            request.method == "POST" and posts.append((request.url, request.headers.get("referer")))
        ),
    )

    # Register for two meetings.
    response = page.goto(live_server.url + "/inscription")
    assert_production_headers(response, "strict-origin-when-cross-origin")
    page.fill("#first_name", "Camille")
    page.fill("#last_name", "Durand")
    page.fill("#email", email)
    page.fill("#organisation", "Ville de Roubaix")
    page.select_option("#mandate", "maire")
    page.check("#department-1")
    page.check(f"#meetings-{meetings['first']}")
    page.check(f"#meetings-{SOON}")
    page.check("#data_notice")
    page.click("button[type=submit]")
    page.wait_for_url("**/inscription/envoyee")
    assert_secure_cookies(page.context)
    assert states_of(live_server, email) == {meetings["first"]: S.REQUESTED, SOON: S.REQUESTED}

    # The confirmation e-mail reaches the SMTP server; its link opens a page with a button.
    response = page.goto(live_server.mail_link(email, "/inscription/confirmer/"))
    assert_token_page(response)
    assert_accessible(page)
    page.click("text=Confirmer mon inscription")
    expect(page.locator("main")).to_contain_text("Votre place est réservée.")
    assert states_of(live_server, email) == {meetings["first"]: S.SEATED, SOON: S.SEATED}

    # Self-service, from the link every e-mail carries: cancel one meeting...
    manage = live_server.mail_link(email, "/inscription/gerer/")
    response = page.goto(manage)
    assert_token_page(response)
    item = page.locator("li.registration", has_text=meetings["first_title"])
    item.locator("a", has_text="Annuler mon inscription").click()
    assert_accessible(page)
    page.click("text=Oui, annuler mon inscription")
    expect(page.locator(".notification")).to_contain_text("est annulée")
    assert states_of(live_server, email)[meetings["first"]] is S.CANCELLED_BY_PERSON

    # ... add two others ...
    page.check(f"#ajout-{meetings['added']}")
    page.check(f"#ajout-{meetings['added_too']}")
    page.click("text=M’inscrire à ces séances")
    expect(page.locator("h1")).to_have_text("Votre inscription est enregistrée")
    assert states_of(live_server, email)[meetings["added"]] is S.SEATED
    assert states_of(live_server, email)[meetings["added_too"]] is S.SEATED

    # ... and correct the details.
    page.goto(manage)
    page.click("text=Corriger mes coordonnées")
    assert_accessible(page)
    page.fill("#organisation", "Métropole européenne de Lille")
    page.fill("#phone", "06 12 34 56 78")
    page.click("text=Enregistrer mes coordonnées")
    expect(page.locator(".notification")).to_contain_text("Vos coordonnées sont enregistrées.")
    with live_server.app.app_context():
        person = db.session.scalar(sa.select(Person).where(Person.email == email))
        assert person.organisation == "Métropole européenne de Lille"
        db.session.remove()

    # The reminder (tomorrow's video link) holds a withdraw link: a page, a button, done.
    withdraw = live_server.mail_link(email, "/inscription/annuler/", also=VIDEO_URL)
    response = page.goto(withdraw)
    assert_token_page(response)
    expect(page.locator("h1")).to_have_text("Libérer votre place ?")
    assert_accessible(page)
    page.click("text=Oui, annuler mon inscription")
    expect(page.locator("h1")).to_have_text("Votre inscription est annulée")
    assert states_of(live_server, email)[SOON] is S.CANCELLED_BY_PERSON
    assert states_of(live_server, email)[meetings["added"]] is S.SEATED

    # Last, everything still to come at once.
    page.goto(manage)
    page.click("text=Annuler toutes mes inscriptions à venir")
    assert_accessible(page)
    page.click("text=Oui, annuler toutes mes inscriptions")
    expect(page.locator(".notification")).to_contain_text("2 inscriptions annulées.")
    assert states_of(live_server, email) == {
        meetings["first"]: S.CANCELLED_BY_PERSON,
        meetings["added"]: S.CANCELLED_BY_PERSON,
        meetings["added_too"]: S.CANCELLED_BY_PERSON,
        SOON: S.CANCELLED_BY_PERSON,
    }

    # Every button sent the URL of its own page as the Referer (same-origin), and each
    # answered without a CSRF refusal.
    for url, referer in posts:
        assert referer is not None and referer.startswith(live_server.url + "/"), (url, referer)
    token_posts = [(url, ref) for url, ref in posts if TOKEN_PATH.search(url)]
    # confirm, cancel one, add, correct details, withdraw, cancel all
    assert len(token_posts) == 6, token_posts
    assert all(TOKEN_PATH.search(referer) for _, referer in token_posts)
    statuses = [int(status) for _, status in SERVED_POST.findall(live_server.log())]
    assert statuses and all(status < 400 for status in statuses), statuses


def test_staff_sign_in_and_approve_a_registration(page, live_server, meetings):
    email = address()
    with live_server.app.app_context():
        meeting = db.session.scalar(sa.select(Meeting).where(Meeting.slug == meetings["moderated"]))
        person = Person(
            email=email,
            first_name="Zoé",
            last_name="Nguyen",
            organisation="Commune de Wattrelos",
            mandate="maire",
            department="Nord",
        )
        db.session.add(Registration(person=person, meeting=meeting, state=S.PENDING_APPROVAL))
        db.session.commit()
        db.session.remove()

    response = page.goto(live_server.url + "/admin/connexion")
    assert_production_headers(response, "strict-origin-when-cross-origin")
    page.fill("#email", STAFF_EMAIL)
    page.fill("#password", STAFF_PASSWORD)
    page.click("button:has-text('Se connecter')")
    expect(page.locator("h1")).to_have_text("Tableau de bord")
    assert_secure_cookies(page.context)

    response = page.goto(
        f"{live_server.url}/admin/seances/{meetings['moderated_id']}/inscriptions"
        "?etat=pending_approval"
    )
    assert_production_headers(response, "strict-origin-when-cross-origin")
    assert response.headers["cache-control"] == "no-store"
    button = page.locator("button", has_text="Valider l'inscription de Zoé Nguyen")
    row = page.locator("#" + button.locator("xpath=ancestor::tr").get_attribute("id"))
    button.click()  # an htmx POST: CSRF header, and the page's URL as Referer
    expect(row).to_contain_text("Place attribuée")
    expect(page.locator("#annonces")).to_contain_text("validée")
    assert_accessible(page)
    assert states_of(live_server, email) == {meetings["moderated"]: S.SEATED}

    # The person hears of it by e-mail, through the worker and the SMTP server.
    received = live_server.wait_for_mail(email, "validé votre inscription")
    assert received.mail_from
    assert live_server.mail_link(email, "/inscription/annuler/", also="validé votre inscription")
