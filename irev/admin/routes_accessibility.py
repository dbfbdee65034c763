"""The accessibility plan page: the multi-year plan and this year's action plan, as text.

Rights: administration role only (`admin_required`); moderation gets the French 403 page.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for

from irev.admin import bp
from irev.admin.common import actor, admin_required
from irev.admin.forms_accessibility import AccessibilityPlanForm
from irev.extensions import db
from irev.services import accessibility_plan
from irev.services.accessibility_plan import PlanError


@bp.route("/accessibilite", methods=["GET", "POST"])
@admin_required
def accessibility_plan_edit():
    """Edit the multi-year accessibility plan and this year's action plan."""
    current = accessibility_plan.current_plan()
    form = AccessibilityPlanForm(data=current.as_dict())
    if form.validate_on_submit():
        try:
            changed = accessibility_plan.update_plan(form.data, actor())
        except PlanError as error:
            db.session.rollback()
            form[error.field].errors = [*form[error.field].errors, str(error)]
        else:
            db.session.commit()
            flash("Plan enregistré." if changed else "Rien n’a changé.", "success")
            return redirect(url_for("admin.accessibility_plan_edit"), code=303)
    status = 422 if form.errors else 200
    return render_template("admin/accessibility_plan.html", form=form, plan=current), status
