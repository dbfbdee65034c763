"""The team's accounts: list with last sign-in, invite a colleague, disable an account."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for

from irev.admin import bp
from irev.admin.common import actor, admin_required, get_or_404
from irev.admin.forms import EmptyForm, InviteForm
from irev.extensions import db
from irev.models import StaffRole, StaffUser
from irev.services import staff


@bp.get("/comptes")
@admin_required
def accounts():
    """List the team's accounts: role, state, last sign-in."""
    return _accounts_page()


def _accounts_page(error: str = "", status: int = 200):
    """Render the list of accounts, with a refusal at the top if there is one."""
    page = render_template(
        "admin/accounts.html",
        accounts=staff.list_staff(),
        form=EmptyForm(),
        me=actor(),
        error=error,
    )
    return page, status


@bp.route("/comptes/inviter", methods=["GET", "POST"])
@admin_required
def invite():
    """Invite a colleague by e-mail: the account exists at once, its password comes later."""
    form = InviteForm()
    if form.validate_on_submit():
        try:
            user = staff.invite_staff(
                actor(), form.email.data, form.display_name.data, StaffRole(form.role.data)
            )
        except staff.StaffError as error:
            db.session.rollback()
            form.email.errors.append(str(error))
        else:
            db.session.commit()
            flash(f"Invitation envoyée à {user.email}.", "success")
            return redirect(url_for("admin.accounts"), code=303)
    status = 422 if form.errors else 200
    return render_template("admin/invite.html", form=form), status


@bp.post("/comptes/<int:staff_id>/desactiver")
@admin_required
def disable_account(staff_id: int):
    """Disable an account: it can no longer sign in, its sessions and links end at once."""
    return _account_action(staff_id, staff.disable_account, "Compte désactivé : {}.")


@bp.post("/comptes/<int:staff_id>/renvoyer-invitation")
@admin_required
def resend_invitation(staff_id: int):
    """Send a new invitation link to a colleague who has not chosen a password yet."""
    return _account_action(staff_id, staff.resend_invitation, "Invitation renvoyée à {}.")


def _account_action(staff_id: int, action, done: str):
    """Run one account action from the list, then go back to it with a French message."""
    user = get_or_404(StaffUser, staff_id)  # the CSRF token is checked for every POST
    try:
        action(actor(), user)
    except staff.StaffError as error:
        db.session.rollback()
        return _accounts_page(str(error), 409)
    db.session.commit()
    flash(done.format(user.email), "success")
    return redirect(url_for("admin.accounts"), code=303)
