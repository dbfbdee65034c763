"""Réglages: what an administrator sets for the public pages (legal notice, DPO).

Rights: administration only (`admin_required`); moderation gets the French 403 page.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from wtforms import EmailField, StringField
from wtforms.validators import Email, Optional

from irev.admin import bp
from irev.admin.common import actor, admin_required
from irev.admin.forms import StaffForm, _max, deliverable_email, single_line
from irev.extensions import db
from irev.services import site_settings


class SettingsForm(StaffForm):
    """The settings of irev.services.site_settings.EDITABLE, one field each."""

    IREV_PUBLISHER_ADDRESS = StringField(
        "Adresse postale de l'éditeur", validators=[Optional(), _max(300), single_line]
    )
    IREV_HOST_NAME = StringField(
        "Nom de l'hébergeur", validators=[Optional(), _max(200), single_line]
    )
    IREV_HOST_ADDRESS = StringField(
        "Adresse de l'hébergeur", validators=[Optional(), _max(300), single_line]
    )
    IREV_HOST_PHONE = StringField(
        "Téléphone de l'hébergeur", validators=[Optional(), _max(40), single_line]
    )
    IREV_DPO_EMAIL = EmailField(
        "E-mail du délégué à la protection des données",
        validators=[
            Optional(),
            _max(254),
            Email("Saisissez une adresse e-mail valide, par exemple dpo@irev.fr."),
            deliverable_email,
        ],
    )


@bp.route("/reglages", methods=["GET", "POST"])
@admin_required
def settings():
    """Show and save the legal notice's details and the DPO's address."""
    form = SettingsForm(data=site_settings.values())
    if form.validate_on_submit():
        changed = site_settings.save(
            {name: form[name].data or "" for name in site_settings.NAMES}, actor()
        )
        db.session.commit()
        flash("Réglages enregistrés." if changed else "Aucune modification.", "success")
        return redirect(url_for("admin.settings"), code=303)
    status = 422 if form.errors else 200
    return render_template("admin/settings.html", form=form), status
