"""The public form, its inline checks and live seats, and confirmation by e-mailed link."""

from __future__ import annotations

from flask import make_response, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError

from irev.extensions import db, limiter
from irev.registration import bp, limits
from irev.registration.form_page import SLUG_MAX, FormQuery, form_page
from irev.registration.forms import RegistrationForm
from irev.registration.helpers import seat_statuses
from irev.registration.links import LinkProblem, read_confirm_link, read_confirming_assistant
from irev.security import TOKEN_PAGE_REFERRER_POLICY
from irev.services import registrations as service
from irev.services import territories
from irev.services.speaker_questions import ask_with_request

#: Session key holding the address the last form was sent for (shown on the next page).
SENT_TO = "inscription_adresse"
#: Session key holding the assistant's address, when an assistant sent the form.
SENT_COPY = "inscription_copie"
#: A posted form naming more meetings than this is checked against every meeting on offer.
NAMED_MAX = 200


def _form(formdata=None, *, named_only: bool = False) -> RegistrationForm:
    """Build the form with the meetings on offer (every published cycle's coming ones).

    named_only: with only those the posted form names (unless it asks for the whole season).
    Checking a submission then reads the meetings it asks for, not all of them; the answer is
    the same, since a slug not on offer is missing either way.
    """
    slugs = None
    if named_only and formdata is not None and not formdata.get("whole_season"):
        # A value holding NUL or longer than a slug names no meeting: it is missing either way,
        # and PostgreSQL refuses NUL in a query parameter.
        named = formdata.getlist("meetings")
        slugs = [s for s in named if "\x00" not in s and len(s) <= SLUG_MAX]
        slugs = slugs if len(named) <= NAMED_MAX else None
    offer = service.form_offer(slugs=slugs)
    return RegistrationForm(formdata, offered=offer.meetings, season=offer.season)


def _render_form(form: RegistrationForm, status: int = 200, notice: str = ""):
    """Render the form: the whole page, or only the form when htmx submitted it."""
    template = "registration/_form.html" if request.htmx else "registration/form.html"
    with_errors = bool(form.errors) or bool(notice)
    if request.htmx and status >= 400:
        status = 422  # htmx swaps 422 (base.html responseHandling), not 400 or 429
    return render_template(template, form=form, notice=notice, with_errors=with_errors), status


@bp.get("")
def form():
    """Show the registration form, with ?seance=<slug> ticked when it can be chosen."""
    # No meeting is read here: the page is kept without its token between visitors who hold
    # nothing else (irev.registration.form_page), its meeting parts too (offered_parts()).
    return form_page(FormQuery.from_args(request.args))


@bp.post("")
@limits.per_client_and_email("IREV_RATELIMIT_SUBMIT_IP", "IREV_RATELIMIT_SUBMIT_EMAIL")
def submit():
    """Validate the form; on success record the request and answer with the same page for all."""
    page_form = _form(request.form, named_only=True)
    if page_form.is_robot:  # a bot filled the honeypot: same answer, nothing saved
        return _sent_response()
    if not page_form.validate():
        shown = _form(request.form)  # the page lists every meeting again, with the errors
        shown.validate()
        return _render_form(shown, 422)
    if page_form.needs_choice:  # homonyms or close names: the person says which one
        return _render_choice(page_form)
    assistant = page_form.assistant_details()
    result = service.request_registration(
        page_form.details(),
        page_form.chosen_meetings(),
        assistant,
        territory_matched=page_form.organisation_matched,
    )
    ask_with_request(result.requested, page_form.speaker_question.data)
    db.session.commit()
    session[SENT_TO] = page_form.details().email
    session[SENT_COPY] = assistant.email if assistant else ""
    return _sent_response()


#: Fields the choice page does not copy: its own answer, and a fresh security token.
NOT_CARRIED = frozenset({"csrf_token", "organisation_code", "choix"})


def _render_choice(form: RegistrationForm):
    """Ask which commune or EPCI was meant, carrying every other answer in hidden fields."""
    again = "choix" in request.form  # sent from the choice page without a choice
    message = (
        "Choisissez votre collectivité dans la liste, ou gardez le nom saisi." if again else ""
    )
    carried = [(k, v) for k, v in request.form.items(multi=True) if k not in NOT_CARRIED]
    template = "registration/_choose.html" if request.htmx else "registration/choose.html"
    page = render_template(
        template,
        form=form,
        resolution=form.resolution,
        carried=carried,
        message=message,
        keep_text=territories.KEEP_TEXT,
        with_errors=bool(message),
    )
    return page, 422 if message else 200


@bp.get("/collectivites")
@limiter.limit(limits.limit("IREV_RATELIMIT_CHECK_IP"), key_func=limits.client_address)
def territory_suggestions():
    """List communes and EPCI matching the typed name (the combobox's listbox, for htmx)."""
    if not request.htmx:
        return redirect(url_for("registration.form"), 303)
    suggestions = territories.search(request.args.get("organisation", ""))
    response = make_response(
        render_template("registration/_territory_options.html", suggestions=suggestions)
    )
    response.headers["Vary"] = "HX-Request"
    return response


def _sent_response():
    """Send the browser to the "check your e-mail" page (htmx: a full navigation)."""
    target = url_for("registration.sent")
    if request.htmx:
        response = make_response("", 204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, 303)


@bp.get("/envoyee")
def sent():
    """Say that an e-mail is on its way (the same page whether the address is known or not)."""
    return render_template(
        "registration/sent.html",
        address=session.pop(SENT_TO, ""),
        copy_address=session.pop(SENT_COPY, ""),
    )


@bp.post("/valider")
@limits.per_client_and_email("IREV_RATELIMIT_CHECK_IP", "IREV_RATELIMIT_CHECK_EMAIL")
def check_field():
    """Check one field with the form's own rules; return its message and an announcement."""
    page_form = _form(request.form)
    name = request.headers.get("HX-Trigger-Name") or request.form.get("champ", "")
    name = "meetings" if name == "whole_season" else name
    if name not in RegistrationForm.FIELD_ORDER:
        return render_template("registration/_check.html", name="", message=""), 200
    page_form.validate()
    message = page_form.field_error(name)
    return render_template("registration/_check.html", form=page_form, name=name, message=message)


@bp.get("/places")
def seats():
    """Refresh the seat counts shown beside the meetings of the form (htmx polling)."""
    if not request.htmx:
        return redirect(url_for("registration.form"), 303)
    offered = service.offered_current_meetings()
    statuses = seat_statuses(offered)
    changed = [
        (m, s) for m, s in statuses if request.args.get(f"dernier-{m.slug}", s.token) != s.token
    ]
    return render_template("registration/_seats_refresh.html", statuses=statuses, changed=changed)


@bp.errorhandler(429)
def too_many(error):
    """Keep the typed values when the form is rate-limited; a plain page elsewhere."""
    if request.endpoint == "registration.submit":
        notice = (
            "Vous avez envoyé trop de demandes en peu de temps. Patientez quelques minutes, "
            "puis envoyez de nouveau le formulaire."
        )
        return _render_form(_form(request.form), 429, notice)
    if request.endpoint in ("registration.check_field", "registration.territory_suggestions"):
        return "", 204  # inline checks pause; the submit still validates everything
    from irev.errors import render_error

    return render_error(429)


@bp.errorhandler(CSRFError)
def csrf_failed(error):
    """Show the form again with what was typed when its security token is missing or old."""
    if request.endpoint in ("registration.submit", "registration.check_field"):
        if request.endpoint == "registration.check_field":
            return "", 204
        notice = (
            "Le formulaire a expiré pendant que vous le remplissiez. Vos réponses sont "
            "conservées : vérifiez-les, puis envoyez de nouveau le formulaire."
        )
        return _render_form(_form(request.form), 400, notice)
    from irev.errors import render_error

    return render_error(
        400,
        "La page a expiré ou n’a pas pu être vérifiée. Rouvrez le lien reçu par courriel, "
        "puis recommencez.",
    )


# --- confirmation by link -----------------------------------------------------------------


@bp.get("/confirmer/<token>")
def confirm(token: str):
    """Show what the link will confirm and a button (a GET changes nothing: scanners open links)."""
    key, person_id = read_confirm_link(token)
    assistant = read_confirming_assistant(token, person_id)
    try:
        pending = service.check_request(key, person_id)
    except service.AlreadyConfirmed as done:
        return _already_confirmed(done, person_id)
    except service.RequestNotFound as error:
        raise _request_gone() from error
    return render_template(
        "registration/confirm.html",
        pending=pending,
        token=token,
        assistant=assistant,
        official=_person(person_id),
    )


@bp.post("/confirmer/<token>")
def confirm_post(token: str):
    """Confirm the request: seat, pending approval or waiting list, per meeting."""
    key, person_id = read_confirm_link(token)
    assistant = read_confirming_assistant(token, person_id)
    try:
        results = service.confirm_request(key, person_id, assistant)
    except service.AlreadyConfirmed as done:
        return _already_confirmed(done, person_id)
    except service.RequestNotFound as error:
        raise _request_gone() from error
    db.session.commit()
    response = make_response(
        render_template(
            "registration/confirmed.html",
            results=results,
            person=_person(person_id),
            assistant=assistant,
        )
    )
    response.headers["HX-Trigger"] = "seats-changed"
    return response


def _person(person_id: int):
    """Return a person by id (the link was checked already)."""
    from irev.models import Person

    return db.session.get(Person, person_id)


def _already_confirmed(done: service.AlreadyConfirmed, person_id: int):
    """Say, harmlessly, that this link was used already, with where things stand."""
    page = render_template(
        "registration/already_confirmed.html",
        registrations=done.registrations,
        person=_person(person_id),
    )
    return page, 409


def _request_gone() -> LinkProblem:
    """Return the problem shown when a request no longer exists (expired and purged)."""
    return LinkProblem(
        410,
        "Demande expirée",
        "Cette demande d’inscription n’existe plus : elle n’a pas été confirmée à temps, ou une "
        "demande plus récente l’a remplacée. Recommencez votre inscription.",
    )


@bp.errorhandler(LinkProblem)
def link_problem(problem: LinkProblem):
    """Explain in French why an e-mailed link cannot be used, and how to start again."""
    return render_template("registration/link_problem.html", problem=problem), problem.status


@bp.after_request
def private_pages(response):
    """Keep tokens out of cross-site Referers and personal pages out of caches and indexes."""
    if request.view_args and "token" in request.view_args:
        response.headers["Referrer-Policy"] = TOKEN_PAGE_REFERRER_POLICY
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
    if (request.view_args and "token" in request.view_args) or request.method == "POST":
        response.headers["Cache-Control"] = "no-store"
    return response
