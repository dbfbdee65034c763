"""Dashboard and moderation: counters, the list of registrations, approve, reject, cancel."""

from __future__ import annotations

from flask import render_template, request, url_for

from irev.admin import bp, safe_next
from irev.admin.common import actor, back, fragment, get_or_404
from irev.admin.forms import EmptyForm, HandRegistrationForm, ReasonForm
from irev.admin.registration_rows import head_html, meeting_head, row_links, rows_page
from irev.extensions import db
from irev.models import IllegalTransition, Meeting, Registration, RegistrationState
from irev.request_guards import database_ids
from irev.services import legal, moderation
from irev.services import registrations as registration_services
from irev.services.moderation import STATE_LABELS, RegistrationFilters

NO_SEAT = "Aucune place libre : augmentez le nombre de places de la séance ou annulez une place."


def _list_url(meeting_id: int) -> str:
    """Return the list page of a meeting's registrations."""
    return url_for("admin.registrations", meeting_id=meeting_id)


def _refusal(error: Exception, registration: Registration) -> str:
    """Return the French explanation of a refused move."""
    if isinstance(error, IllegalTransition):
        label = STATE_LABELS[registration.state].lower()
        return f"Action impossible : l'inscription est dans l'état « {label} »."
    return str(error) or "Action impossible."


@bp.get("/")
def dashboard():
    """Show every meeting with its seats and its registrations to handle."""
    context = {"counters": moderation.dashboard()}
    if request.htmx and request.htmx.target == "compteurs":
        return render_template("admin/_counters.html", **context)
    return render_template("admin/dashboard.html", legal_gaps=legal.missing_details(), **context)


@bp.get("/seances/<int:meeting_id>/inscriptions")
def registrations(meeting_id: int):
    """List a meeting's registrations with filters, search and pages (htmx: the results only)."""
    meeting = meeting_head(meeting_id)
    counters = meeting.counters
    if request.htmx and request.htmx.target == "seance-compteurs":
        return render_template("admin/_meeting_counters.html", meeting=meeting, counters=counters)
    filters = RegistrationFilters.from_args(request.args)
    page = rows_page(meeting, filters)
    context = dict(
        meeting=meeting, filters=filters, page=page, form=EmptyForm(), labels=STATE_LABELS
    )
    if (
        request.htmx
        and request.htmx.target == "resultats"
        and not (request.htmx.history_restore_request)
    ):
        noun = "inscription trouvée" if page.total == 1 else "inscriptions trouvées"
        return fragment(
            "admin/_registrations_results.html", announce=f"{page.total} {noun}.", **context
        )
    return render_template(
        "admin/registrations.html", head_html=head_html(meeting, filters), **context
    )


def _act(registration_id: int, action, success: str, **kwargs):
    """Run one moderation action on a registration and answer with its row (or a redirect)."""
    registration = get_or_404(Registration, registration_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        return back(
            _list_url(registration.meeting_id),
            form.errors and "Le formulaire a expiré : recommencez.",
            "error",
        )
    try:
        outcome = action(registration, actor(), **kwargs)
        if outcome is False:
            raise ValueError(NO_SEAT)
    except (IllegalTransition, ValueError) as error:
        db.session.rollback()
        message, status, changed = _refusal(error, registration), 422, False
    else:
        db.session.commit()
        message = success.format(name=registration.person.full_name)
        if registration.state is RegistrationState.WAITING:
            message += " Plus de place libre : elle est placée en liste d'attente."
        status, changed = 200, True
    if not request.htmx:
        category = "success" if status == 200 else "error"
        return back(_list_url(registration.meeting_id), message, category)
    positions = moderation.waiting_positions(registration.meeting)
    return fragment(
        "admin/_registration_row.html",
        status=status,
        announce=message,
        changed=changed,
        registration=registration,
        labels=STATE_LABELS,
        positions=positions,
        links=row_links(registration.meeting_id),
        actions=registration.allowed_actions(),
        focus=True,
        form=form,
    )


@bp.post("/inscriptions/<int:registration_id>/valider")
def approve(registration_id: int):
    """Approve a registration awaiting the team's decision."""
    return _act(
        registration_id,
        registration_services.approve_registration,
        "Inscription de {name} validée.",
    )


@bp.post("/inscriptions/<int:registration_id>/placer")
def promote(registration_id: int):
    """Give a seat to someone on the waiting list."""
    return _act(
        registration_id, registration_services.promote_from_waiting_list, "{name} a reçu une place."
    )


@bp.route("/inscriptions/<int:registration_id>/refuser", methods=["GET", "POST"])
def reject(registration_id: int):
    """Ask for an optional reason, then reject the registration (the person is e-mailed)."""
    return _with_reason(registration_id, "reject")


@bp.route("/inscriptions/<int:registration_id>/annuler", methods=["GET", "POST"])
def cancel_seat(registration_id: int):
    """Ask for an optional reason, then cancel the registration on behalf of the organiser."""
    return _with_reason(registration_id, "cancel")


def _with_reason(registration_id: int, kind: str):
    """Show the reason form of a rejection or cancellation, or carry it out."""
    registration = get_or_404(Registration, registration_id)
    form = ReasonForm()
    if form.validate_on_submit():
        reason = (form.reason.data or "").strip()
        try:
            if kind == "reject":
                registration_services.reject_registration(registration, actor(), reason=reason)
            else:
                registration_services.cancel_registration(
                    registration, actor(), by_organiser=True, reason=reason
                )
        except (IllegalTransition, ValueError) as error:
            db.session.rollback()
            return back(_list_url(registration.meeting_id), _refusal(error, registration), "error")
        db.session.commit()
        done = "refusée" if kind == "reject" else "annulée"
        return back(
            _list_url(registration.meeting_id),
            f"Inscription de {registration.person.full_name} {done}.",
        )
    status = 422 if form.errors else 200
    return render_template(
        "admin/reason.html",
        form=form,
        registration=registration,
        kind=kind,
        retour=safe_next(request.args.get("retour")),
    ), status


@bp.post("/seances/<int:meeting_id>/inscriptions/lot")
def bulk(meeting_id: int):
    """Approve, reject or seat every selected registration at once."""
    meeting = get_or_404(Meeting, meeting_id)
    form = ReasonForm()
    action = request.form.get("action", "")
    ids = database_ids(request.form.getlist("ids"))
    selected = moderation.registrations_of(meeting, ids)
    if not form.validate_on_submit() or action not in moderation.BULK_ACTION_MOVES or not selected:
        message = (
            "Cochez au moins une inscription, puis choisissez une action."
            if not selected
            else "Action inconnue ou formulaire expiré : recommencez."
        )
        return _bulk_answer(meeting, message, 422)
    report = moderation.apply_bulk(selected, action, actor(), form.reason.data or "")
    db.session.commit()
    return _bulk_answer(meeting, moderation.bulk_summary(report), 200)


def _bulk_answer(meeting: Meeting, message: str, status: int):
    """Answer a bulk action: the refreshed results for htmx, else back to the list."""
    if not request.htmx:
        return back(_list_url(meeting.id), message, "success" if status == 200 else "error")
    filters = RegistrationFilters.from_args(request.args)
    page = rows_page(meeting_head(meeting.id), filters)
    response = fragment(
        "admin/_registrations_results.html",
        status=status,
        announce=message,
        changed=status == 200,
        meeting=meeting,
        filters=filters,
        page=page,
        form=EmptyForm(),
        reason_form=ReasonForm(),
        labels=STATE_LABELS,
        focus_summary=True,
        bulk_message=message,
    )
    return response


@bp.route("/seances/<int:meeting_id>/inscrire", methods=["GET", "POST"])
def add_registration(meeting_id: int):
    """Register by hand someone who phoned: same rules and e-mails as the public form."""
    meeting = get_or_404(Meeting, meeting_id)
    form, known = HandRegistrationForm(), None
    if form.validate_on_submit():
        data = {name: form[name].data for name in moderation.PERSON_FIELDS}
        choice = form.known_details.data or ""
        try:
            results = registration_services.register_by_staff(
                data, [meeting], actor(), known_details=choice
            )
        except ValueError as error:  # KnownPerson, RegistrationError, InvalidEmail
            db.session.rollback()
            known = getattr(error, "person", None)
            (form.known_details if known else form.email).errors.append(str(error))
        else:
            db.session.commit()
            return back(_list_url(meeting.id), moderation.registered_message(results, data, choice))
    status = 422 if form.errors else 200
    page = render_template("admin/add_registration.html", form=form, meeting=meeting, known=known)
    return page, status
