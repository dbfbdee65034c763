"""The assistants' self-service page: every official they manage, with the officials' actions."""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, request, url_for

from irev.dates import short_date
from irev.extensions import db
from irev.models import AssistantLink, Person, Registration, RegistrationState
from irev.registration import bp
from irev.registration.forms import AddMeetingsForm, ConfirmForm, DetailsForm
from irev.registration.links import read_assistant_link, read_manage_link
from irev.services import assistants
from irev.services import registrations as service
from irev.services.meetings import waiting_count
from irev.services.people import PersonDetails
from irev.services.programmes import get_current_programme
from irev.services.registration_events import correct_own_details


def _addable(person: Person) -> list:
    """Return the open meetings the official is not actively registered for."""
    taken = {r.meeting_id for r in service.person_registrations(person) if r.is_active}
    return [m for m in service.open_meetings(get_current_programme()) if m.id not in taken]


def _link(token: str, official_id: int) -> AssistantLink:
    """Return the link of the token's assistant to this official, or 404."""
    assistant = read_assistant_link(token)
    link = assistants.link_between(assistant.id, official_id)
    if link is None or link.official.anonymised_at is not None:
        abort(404)
    return link


def _page(token: str, assistant: Person, failed: tuple[int, AddMeetingsForm] | None = None):
    """Render the assistant's page; `failed` keeps one official's add form with its errors."""
    sections = []
    for link in assistants.officials_of(assistant):
        official = link.official
        form = failed[1] if failed and failed[0] == official.id else None
        sections.append(
            {
                "link": link,
                "official": official,
                "registrations": service.person_registrations(official),
                "add_form": form or AddMeetingsForm(offered=_addable(official)),
            }
        )
    return render_template(
        "registration/assistant.html",
        assistant=assistant,
        token=token,
        sections=sections,
        with_errors=failed is not None,
    )


@bp.get("/assistant/<token>")
def assistant_page(token: str):
    """Show each official the assistant manages, their meetings and what can be done."""
    return _page(token, read_assistant_link(token))


@bp.route("/assistant/<token>/elu/<int:official_id>/annuler/<int:registration_id>",
          methods=["GET", "POST"])  # fmt: skip
def assistant_cancel(token: str, official_id: int, registration_id: int):
    """Ask for confirmation (GET), then cancel one of the official's registrations (POST)."""
    link = _link(token, official_id)
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.person_id != official_id:
        abort(404)
    back = url_for("registration.assistant_page", token=token)
    if not registration.can_cancel():
        flash("Cette inscription ne peut plus être annulée.", "info")
        return redirect(back, 303)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_template(
            "registration/assistant_cancel.html",
            registration=registration,
            official=link.official,
            token=token,
            form=form,
            someone_waits=waiting_count(registration.meeting) > 0,
        )
    was_waiting = registration.state is RegistrationState.WAITING
    service.cancel_registration(registration, link.assistant, by_organiser=False)
    db.session.commit()
    day, name = short_date(registration.meeting.starts_at), link.official.full_name
    flash(
        f"{name} ne figure plus sur la liste d’attente de la séance du {day}."
        if was_waiting
        else f"L’inscription de {name} à la séance du {day} est annulée.",
        "success",
    )
    response = redirect(back, 303)
    response.headers["HX-Trigger"] = "seats-changed"
    return response


@bp.post("/assistant/<token>/elu/<int:official_id>/ajouter")
def assistant_add(token: str, official_id: int):
    """Register the official for more meetings (the assistant's link proves their address)."""
    link = _link(token, official_id)
    form = AddMeetingsForm(request.form, offered=_addable(link.official))
    if not form.validate():
        return _page(token, link.assistant, failed=(official_id, form)), 422
    results = service.add_meetings(link.official, form.chosen_meetings(), link.assistant)
    db.session.commit()
    page = render_template(
        "registration/confirmed.html",
        results=results,
        person=link.official,
        assistant=link.assistant,
    )
    response = make_response(page)
    response.headers["HX-Trigger"] = "seats-changed"
    return response


@bp.route("/assistant/<token>/elu/<int:official_id>/coordonnees", methods=["GET", "POST"])
def assistant_details(token: str, official_id: int):
    """Let the assistant correct the official's details (the official is told, old and new)."""
    link = _link(token, official_id)
    official = link.official
    form = DetailsForm(obj=official)
    urls = {
        "action_url": url_for(
            "registration.assistant_details", token=token, official_id=official_id
        ),
        "back_url": url_for("registration.assistant_page", token=token),
        "for_official": True,
    }
    if not form.is_submitted() or not form.validate():
        page = render_template("registration/details.html", form=form, person=official, **urls)
        return page, 422 if form.is_submitted() else 200
    values = {name: getattr(form, name).data or "" for name in DetailsForm.FIELD_ORDER}
    changes = correct_own_details(official, PersonDetails(email=official.email, **values))
    db.session.commit()
    flash(
        f"Les coordonnées de {official.full_name} sont enregistrées."
        if changes
        else "Rien n’a changé.",
        "success",
    )
    return redirect(urls["back_url"], 303)


@bp.post("/gerer/<token>/assistants/<int:link_id>/retirer")
def remove_assistant(token: str, link_id: int):
    """Let an official end an assistant's access to their registrations and e-mails."""
    official = read_manage_link(token)
    link = db.session.get(AssistantLink, link_id)
    if link is None or link.official_id != official.id:
        abort(404)
    name = link.assistant.full_name
    assistants.unlink(link)
    db.session.commit()
    flash(f"{name} ne reçoit plus vos courriels et ne gère plus vos inscriptions.", "success")
    # Unlinking raised the official's link version: the page opens with a fresh link.
    from irev.registration.helpers import manage_path

    return redirect(manage_path(official), 303)
