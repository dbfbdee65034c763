"""People and their personal data: search, person page, JSON export, correction, erasure."""

from __future__ import annotations

import json

from flask import Response, flash, redirect, render_template, request, url_for

from irev.admin import bp
from irev.admin.common import actor, get_or_404
from irev.admin.forms import EraseForm, PersonForm
from irev.extensions import db
from irev.models import OutboundEmail, Person, Registration
from irev.request_guards import page_number
from irev.services import gdpr, gdpr_export
from irev.services.audit import record
from irev.wording import plural


@bp.get("/personnes")
def people():
    """Search people by name, e-mail or local authority."""
    query = " ".join(request.args.get("q", "").split())[:100]
    page = gdpr.search_people(query, page=request.args.get("page", 1, type=page_number))
    return render_template("admin/people.html", page=page, query=query)


@bp.get("/personnes/<int:person_id>")
def person(person_id: int):
    """Show everything about a person: details, registrations, e-mails, GDPR actions."""
    person = get_or_404(Person, person_id)
    registrations = db.session.scalars(
        db.select(Registration)
        .where(Registration.person_id == person.id)
        .order_by(Registration.requested_at.desc())
    ).all()
    emails = db.session.scalars(
        db.select(OutboundEmail)
        .where(OutboundEmail.person_id == person.id)
        .order_by(OutboundEmail.id.desc())
        .limit(50)
    ).all()
    return render_template(
        "admin/person.html", person=person, registrations=registrations, emails=emails
    )


@bp.get("/personnes/<int:person_id>/export.json")
def person_export(person_id: int):
    """Download everything held about a person as JSON (right of access); audited."""
    person = get_or_404(Person, person_id)
    data = gdpr_export.export(person)
    record(actor(), "person.export", person)
    db.session.commit()
    body = json.dumps(data, ensure_ascii=False, indent=2)
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="donnees-personne-{person.id}.json"'
    )
    return response


@bp.route("/personnes/<int:person_id>/modifier", methods=["GET", "POST"])
def person_edit(person_id: int):
    """Correct a person's details (right of rectification); audited without the values."""
    person = get_or_404(Person, person_id)
    form = PersonForm(obj=person if request.method == "GET" else None)
    if person.anonymised_at is None and form.validate_on_submit():
        try:
            changed = gdpr.correct(person, form.data, actor())
        except gdpr.PersonError as error:
            db.session.rollback()
            target = form._fields.get(error.field or "", form.email)
            target.errors = [*target.errors, str(error)]
        else:
            db.session.commit()
            flash("Coordonnées corrigées." if changed else "Aucune modification.", "success")
            return redirect(url_for("admin.person", person_id=person.id), code=303)
    status = 422 if form.errors else 200
    return render_template("admin/person_edit.html", form=form, person=person), status


@bp.route("/personnes/<int:person_id>/effacer", methods=["GET", "POST"])
def person_erase(person_id: int):
    """Confirm, then erase a person's data (right to erasure); the figures are kept."""
    person = get_or_404(Person, person_id)
    form = EraseForm()
    if person.anonymised_at is None and form.validate_on_submit():
        cancelled = gdpr.erase(person, actor())
        db.session.commit()
        flash(
            "Données personnelles effacées ("
            + plural(
                cancelled,
                "inscription à venir annulée",
                "inscriptions à venir annulées",
                "aucune inscription à venir annulée",
            )
            + ").",
            "success",
        )
        return redirect(url_for("admin.person", person_id=person.id), code=303)
    status = 422 if form.errors else 200
    return render_template("admin/person_erase.html", form=form, person=person), status
