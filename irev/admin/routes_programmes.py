"""Cycles (programmes): list, create, edit, duplicate onto new dates, publish, unpublish.

Rights: every route here is for the administration role (`admin_required`: moderation gets
the French 403 page, and the menu hides « Cycles » from it).
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from irev.admin import bp
from irev.admin.common import actor, admin_required, get_or_404
from irev.admin.forms_cycles import (
    CycleForm,
    NewCycleForm,
    PublishForm,
    days_of,
    duplicate_form,
)
from irev.admin.routes_meetings import _programme
from irev.extensions import db
from irev.models import Programme
from irev.request_guards import whole_number
from irev.services import cycles
from irev.services.cycles import CycleError


def _field_error(form, error: CycleError) -> None:
    """Show a refused change beside its field (or above the form)."""
    target = form[error.field] if error.field and error.field in form else form.title
    target.errors = [*target.errors, str(error)]


def _cycle_page(form, programme: Programme | None):
    """Render the cycle form, with 422 when it holds errors."""
    status = 422 if form.errors else 200
    texts = cycles.schedule_texts(programme)
    return render_template("admin/programme.html", form=form, programme=programme, **texts), status


@bp.get("/cycles")
@admin_required
def cycles_list():
    """List every cycle with its dates, state and actions."""
    current = cycles.cycles_for_staff()
    return render_template(
        "admin/cycles.html", cycles=current, form=PublishForm(), cycle_service=cycles
    )


@bp.route("/cycles/nouveau", methods=["GET", "POST"])
@admin_required
def cycle_new():
    """Create an unpublished cycle with its texts and the defaults of its meetings."""
    form = NewCycleForm(data=cycles.new_cycle_data() if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            programme = cycles.create_cycle(form.data, actor())
        except CycleError as error:
            db.session.rollback()
            _field_error(form, error)
        else:
            db.session.commit()
            flash(f"Cycle « {programme.title} » créé, non publié : ajoutez ses séances.", "success")
            return redirect(url_for("admin.cycles_list"), code=303)
    return _cycle_page(form, None)


@bp.route("/programme", methods=["GET", "POST"])
@admin_required
def programme():
    """Edit everything a cycle's public page shows, and the defaults of its new meetings."""
    current = _programme(request.args.get("id", type=whole_number))
    form = CycleForm(data=cycles.form_data(current) if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            changed = cycles.update_cycle(current, form.data, actor())
        except CycleError as error:
            db.session.rollback()
            _field_error(form, error)
        else:
            db.session.commit()
            flash("Programme enregistré." if changed else "Aucune modification.", "success")
            return redirect(url_for("admin.programme", id=current.id), code=303)
    return _cycle_page(form, current)


@bp.route("/cycles/<int:programme_id>/dupliquer", methods=["GET", "POST"])
@admin_required
def cycle_duplicate(programme_id: int):
    """Copy a cycle and its meetings onto new dates (suggested: next semester's Wednesdays)."""
    source = get_or_404(Programme, programme_id)
    meetings = cycles.meetings_to_copy(source)
    data = cycles.duplicate_data(source) if request.method == "GET" else None
    form = duplicate_form(len(meetings), data=data)
    if form.validate_on_submit():
        copy = cycles.duplicate_cycle(
            source,
            title=form.title.data,
            year=form.year.data,
            days=days_of(form),
            keep_topics=form.keep_topics.data,
            actor=actor(),
        )
        db.session.commit()
        flash(
            f"Cycle « {copy.title} » créé avec {len(meetings)} séances en brouillon, non publié.",
            "success",
        )
        return redirect(url_for("admin.cycles_list"), code=303)
    status = 422 if form.errors else 200
    return render_template(
        "admin/cycle_duplicate.html", form=form, source=source, meetings=meetings
    ), status


@bp.post("/cycles/<int:programme_id>/publier")
@admin_required
def cycle_publish(programme_id: int):
    """Publish a cycle (and, when asked, its draft meetings)."""
    programme = get_or_404(Programme, programme_id)
    form = PublishForm()
    if form.validate_on_submit():
        count = cycles.publish_cycle(programme, actor(), with_meetings=form.with_meetings.data)
        db.session.commit()
        also = f", avec {count} séance{'s' if count > 1 else ''}" if count else ""
        flash(f"Cycle « {programme.title} » publié{also}.", "success")
    else:
        flash("Le formulaire a expiré : recommencez.", "error")
    return redirect(url_for("admin.cycles_list"), code=303)


@bp.post("/cycles/<int:programme_id>/depublier")
@admin_required
def cycle_unpublish(programme_id: int):
    """Take a cycle off the public site."""
    programme = get_or_404(Programme, programme_id)
    form = PublishForm()
    if form.validate_on_submit():
        cycles.unpublish_cycle(programme, actor())
        db.session.commit()
        flash(f"Cycle « {programme.title} » retiré du site.", "success")
    else:
        flash("Le formulaire a expiré : recommencez.", "error")
    return redirect(url_for("admin.cycles_list"), code=303)
