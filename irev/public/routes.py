"""Routes of the public pages: programme, meetings, calendars, seats, legal pages."""

from __future__ import annotations

import datetime as dt

from flask import Response, abort, redirect, render_template, request, url_for
from sqlalchemy import text

from irev import calendars, page_cache
from irev.extensions import db
from irev.models import utcnow
from irev.public import bp
from irev.public.helpers import preload_waiting, programme_calendar_body
from irev.services import accessibility_audit, cache, legal, site_settings
from irev.services import accessibility_plan as plan_service
from irev.services import meetings as meeting_service
from irev.services.programmes import (
    archived_programmes,
    find_public_programme,
    get_current_programme,
)

#: Date of the audit the accessibility statement is built from (irev/data/rgaa/grid.csv).
ACCESSIBILITY_STATEMENT_DATE = dt.date(2026, 12, 1)


@bp.get("/")
def index():
    """Show the programme: upcoming meetings, planned topics, past meetings, contact."""
    # Rendered again only when something shown changed (see irev.page_cache).
    return page_cache.pages().get_or_render("public.index", cache.programme_version, _render_index)


def _render_index() -> str:
    """Render the programme page."""
    programme = get_current_programme()
    if programme is None:
        return render_template("public/no_programme.html")
    now = utcnow()
    running = meeting_service.running_meetings(programme, now)
    upcoming = meeting_service.upcoming_meetings(programme, now)
    past = meeting_service.past_meetings(programme, now)
    preload_waiting(running + upcoming + past)
    return render_template(
        "public/index.html", programme=programme, running=running, upcoming=upcoming, past=past
    )


@bp.get("/cycles-precedents")
def archives():
    """List the past cycles, most recent first, each with its page and calendar."""
    return render_template(
        "public/archives.html", programmes=archived_programmes(), current=get_current_programme()
    )


@bp.get("/cycles/<slug>")
def archived_programme(slug: str):
    """Show a past cycle as its programme page showed it (the current one lives at /)."""
    programme = _public_programme(slug)
    current = get_current_programme()
    if current is not None and current.id == programme.id:
        return redirect(url_for("public.index"), code=303)
    past = meeting_service.past_meetings(programme)
    upcoming = meeting_service.upcoming_meetings(programme)
    preload_waiting(upcoming + past)
    return render_template(
        "public/index.html",
        programme=programme,
        upcoming=upcoming,
        past=past,
        archived=True,
        current=current,
    )


@bp.get("/cycles/<slug>/calendrier.ics")
def archived_calendar(slug: str):
    """Serve every public meeting of one cycle (current or past) as one iCalendar file."""
    programme = _public_programme(slug)
    body = programme_calendar_body(programme, current=False)
    modified = meeting_service.calendar_modified(programme)
    return _calendar_response(body, f"{programme.slug}.ics", modified)


def _public_programme(slug: str):
    """Return the published cycle with this slug, or answer 404."""
    programme = find_public_programme(slug)
    if programme is None:
        abort(404)
    return programme


@bp.get("/seances/<slug>")
def meeting(slug: str):
    """Show one meeting in full, with its seats and calendar link (never the video link)."""
    render = lambda: _render_meeting(slug)  # noqa: E731
    return page_cache.pages().get_or_render(("public.meeting", slug), None, render)


def _render_meeting(slug: str) -> str:
    """Render one meeting's page (404 when it is not public)."""
    found = meeting_service.get_public_meeting(slug)
    return render_template("public/meeting.html", meeting=found, programme=found.programme)


@bp.get("/seances/<slug>/places")
def seats(slug: str):
    """Return the live seat block; announce it only when it differs from what the page showed."""
    if not request.headers.get("HX-Request"):
        meeting_service.get_public_meeting(slug)  # 404 when unknown
        return redirect(url_for("public.meeting", slug=slug, _anchor=f"places-{slug}"), 303)
    token, quiet, announced = page_cache.pages().get_or_render(
        ("public.seats", slug), None, lambda: _render_seats(slug)
    )
    last_seen = request.args.get("dernier", "")
    return announced if last_seen and last_seen != token else quiet


def _render_seats(slug: str) -> tuple[str, str, str]:
    """Render the seat block, without and with its announcement; return them with its token."""
    found = meeting_service.get_public_meeting(slug)
    status = meeting_service.seat_status(found)
    quiet, announced = (
        render_template("public/_seats.html", meeting=found, status=status, announce=announce)
        for announce in (False, True)
    )
    return status.token, quiet, announced


@bp.get("/calendrier.ics")
def programme_calendar():
    """Serve every public meeting of the current programme as one iCalendar file."""
    programme = get_current_programme()
    if programme is None:
        abort(404)
    body = programme_calendar_body(programme, current=True)
    modified = meeting_service.calendar_modified(programme)
    return _calendar_response(body, "rencontres-des-elus-irev.ics", modified)


@bp.get("/seances/<slug>.ics")
def meeting_calendar(slug: str):
    """Serve one meeting as an iCalendar file ("Ajouter à mon agenda")."""
    found = meeting_service.get_public_meeting(slug)
    modified = meeting_service.calendar_modified(found.programme, found)
    body = calendars.meeting_calendar([found])
    return _calendar_response(body, f"{found.slug}.ics", modified)


@bp.get("/accessibilite")
def accessibility():
    """Show the RGAA accessibility statement, built from the audit grid."""
    return render_template(
        "public/accessibility.html",
        programme=get_current_programme(),
        statement_date=ACCESSIBILITY_STATEMENT_DATE,
        audit=accessibility_audit.statement(),
        plan=plan_service.current_plan(),
    )


@bp.get("/accessibilite/schema-pluriannuel")
def accessibility_plan():
    """Show the multi-year accessibility plan and this year's action plan."""
    return render_template(
        "public/accessibility_plan.html",
        programme=get_current_programme(),
        plan=plan_service.current_plan(),
    )


@bp.get("/plan-du-site")
def site_map():
    """List every public page of the site: the second way to find a page (RGAA 12.1)."""
    from irev.admin.common import staff_pages

    programme = get_current_programme()
    meetings = meeting_service.public_meetings(programme) if programme else []
    return render_template(
        "public/site_map.html",
        programme=programme,
        meetings=meetings,
        archives=archived_programmes(),
        staff_pages=staff_pages(),
    )


@bp.get("/donnees-personnelles")
def personal_data():
    """Show the GDPR article 13 notice."""
    return render_template(
        "public/personal_data.html",
        programme=get_current_programme(),
        dpo_email=site_settings.value("IREV_DPO_EMAIL"),
    )


@bp.get("/mentions-legales")
def legal_notice():
    """Show the legal notice."""
    return render_template(
        "public/legal_notice.html",
        programme=get_current_programme(),
        legal=legal.legal_details(),
    )


@bp.get("/healthz")
def healthz():
    """Answer 200 when the database answers, 503 otherwise."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:
        db.session.rollback()
        return {"status": "indisponible"}, 503
    return {"status": "ok"}, 200


#: Seconds a client or proxy may reuse a calendar before asking again (then 304 if unchanged).
CALENDAR_MAX_AGE = 300


def _calendar_response(body: bytes, filename: str, modified: dt.datetime) -> Response:
    """Wrap an iCalendar body with its MIME type, file name and validators; 304 if unchanged.

    Calendar clients poll a subscribed feed every few minutes: with ETag and Last-Modified
    they ask "If-None-Match" / "If-Modified-Since" and get an empty 304 while nothing changed.
    """
    response = Response(body, content_type=calendars.content_type("PUBLISH"))
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.set_etag(calendars.calendar_etag(body))
    response.last_modified = modified.replace(microsecond=0)
    response.cache_control.public = True
    response.cache_control.max_age = CALENDAR_MAX_AGE
    return response.make_conditional(request)
