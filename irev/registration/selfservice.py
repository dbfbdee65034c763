"""Self-service by e-mailed link: see, cancel, add, correct; and the one-click cancel page."""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, request, url_for

from irev.dates import short_date
from irev.extensions import db
from irev.models import Person, Registration, RegistrationState
from irev.registration import bp
from irev.registration.forms import AddMeetingsForm, ConfirmForm, DetailsForm
from irev.registration.links import read_cancel_link, read_manage_link
from irev.services import registrations as service
from irev.services.meetings import waiting_count
from irev.services.people import PersonDetails
from irev.services.registration_events import correct_own_details
from irev.wording import plural


def _addable(person: Person) -> list:
    """Return the open meetings the person is not actively registered for (every published
    cycle's, as the form offers them)."""
    taken = {r.meeting_id for r in service.person_registrations(person) if r.is_active}
    offered = service.form_offer().meetings
    return [m for m in offered if m.registration_open() and m.id not in taken]


def _own_registration(person: Person, registration_id: int) -> Registration:
    """Return one of the person's registrations, or 404."""
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.person_id != person.id:
        abort(404)
    return registration


def _changed(response):
    """Tell htmx listeners on the page that seat counts moved."""
    response.headers["HX-Trigger"] = "seats-changed"
    return response


@bp.get("/gerer/<token>")
def manage(token: str):
    """Show the person's registrations, with what they can do about each."""
    person = read_manage_link(token)
    return render_template(
        "registration/manage.html",
        person=person,
        token=token,
        registrations=service.person_registrations(person),
        add_form=AddMeetingsForm(offered=_addable(person)),
    )


@bp.route("/gerer/<token>/annuler/<int:registration_id>", methods=["GET", "POST"])
def cancel_one(token: str, registration_id: int):
    """Ask for confirmation (GET), then cancel one registration or leave a waiting list (POST)."""
    person = read_manage_link(token)
    registration = _own_registration(person, registration_id)
    if not registration.can_cancel():
        flash("Cette inscription ne peut plus être annulée.", "info")
        return redirect(url_for("registration.manage", token=token), 303)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_template(
            "registration/cancel_confirm.html",
            registration=registration,
            token=token,
            form=form,
            someone_waits=waiting_count(registration.meeting) > 0,
        )
    was_waiting = registration.state is RegistrationState.WAITING
    service.cancel_registration(registration, person, by_organiser=False)
    db.session.commit()
    day = short_date(registration.meeting.starts_at)
    flash(
        f"Vous avez quitté la liste d’attente de la séance du {day}."
        if was_waiting
        else f"Votre inscription à la séance du {day} est annulée.",
        "success",
    )
    return _changed(redirect(url_for("registration.manage", token=token), 303))


@bp.route("/gerer/<token>/tout-annuler", methods=["GET", "POST"])
def cancel_everything(token: str):
    """Ask for confirmation (GET), then cancel every registration still to come (POST)."""
    person = read_manage_link(token)
    cancellable = [r for r in service.person_registrations(person) if r.can_cancel()]
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_template(
            "registration/cancel_all.html", registrations=cancellable, token=token, form=form
        )
    cancelled = service.cancel_all(person, person)
    db.session.commit()
    count = len(cancelled)
    flash(
        plural(count, "inscription annulée", "inscriptions annulées", "Aucune inscription annulée")
        + ".",
        "success",
    )
    return _changed(redirect(url_for("registration.manage", token=token), 303))


@bp.post("/gerer/<token>/ajouter")
def add(token: str):
    """Register the person for more meetings at once (the link proves their address)."""
    person = read_manage_link(token)
    form = AddMeetingsForm(request.form, offered=_addable(person))
    if not form.validate():
        page = render_template(
            "registration/manage.html",
            person=person,
            token=token,
            registrations=service.person_registrations(person),
            add_form=form,
        )
        return page, 422
    results = service.add_meetings(person, form.chosen_meetings(), person)
    db.session.commit()
    page = render_template(
        "registration/confirmed.html", results=results, person=person, token=token
    )
    return _changed(make_response(page))


@bp.route("/gerer/<token>/coordonnees", methods=["GET", "POST"])
def details(token: str):
    """Let the person correct their details (not the e-mail address: it is their identity)."""
    person = read_manage_link(token)
    form = DetailsForm(obj=person)
    if not form.is_submitted():
        return render_template("registration/details.html", form=form, person=person, token=token)
    if not form.validate():
        page = render_template("registration/details.html", form=form, person=person, token=token)
        return page, 422
    values = {name: getattr(form, name).data or "" for name in DetailsForm.FIELD_ORDER}
    changes = correct_own_details(person, PersonDetails(email=person.email, **values))
    db.session.commit()
    flash("Vos coordonnées sont enregistrées." if changes else "Rien n’a changé.", "success")
    return redirect(url_for("registration.manage", token=token), 303)


@bp.route("/annuler/<token>", methods=["GET", "POST"])
def cancel_link(token: str):
    """The cancellation link of the video-link e-mail: a page with a button, then POST."""
    registration = read_cancel_link(token)
    usable = registration.can_cancel()
    form = ConfirmForm()
    if not usable:
        page = render_template(
            "registration/cancel_link.html", registration=registration, done=True
        )
        return page, 409
    if not form.validate_on_submit():
        return render_template(
            "registration/cancel_link.html",
            registration=registration,
            form=form,
            done=False,
            someone_waits=waiting_count(registration.meeting) > 0,
        )
    service.cancel_registration(registration, registration.person, by_organiser=False)
    db.session.commit()
    page = render_template("registration/cancelled.html", registration=registration)
    return _changed(make_response(page))
