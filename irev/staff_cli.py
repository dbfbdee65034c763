"""`flask --app wsgi staff ...`: create, list and disable staff accounts."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from irev.extensions import db
from irev.models import StaffRole
from irev.services import audit, staff

staff_cli = AppGroup("staff", help="Gérer les comptes de l'équipe (espace /admin).")

#: The demonstration account created by `make run` (development only).
DEMO_EMAIL = "demo@irev.test"


def _fail(message: str) -> None:
    """Stop the command with a French message on standard error and exit status 1."""
    raise click.ClickException(message)


@staff_cli.command("add")
@click.argument("email")
@click.option("--name", default="", help="Nom affiché (facultatif).")
@click.option("--password-stdin", is_flag=True, help="Lire le mot de passe sur l'entrée standard.")
@click.option(
    "--role",
    type=click.Choice([role.value for role in StaffRole]),
    default=StaffRole.ADMIN.value,
    show_default=True,
    help="admin : comptes, cycles et réglages en plus de la modération ; moderation : le reste.",
)
def add_command(email: str, name: str, password_stdin: bool, role: str) -> None:
    """Créer un compte ; le mot de passe est demandé deux fois (masqué) ou lu sur l'entrée."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(
            "Mot de passe", hide_input=True, confirmation_prompt="Confirmez le mot de passe"
        )
    try:
        user = staff.create_staff(email, password, name, StaffRole(role))
    except staff.StaffError as error:
        _fail(str(error))
    audit.record(None, "staff.create", user, after={"email": user.email, "role": user.role})
    db.session.commit()
    click.echo(f"Compte créé : {user.email} ({user.role.label.lower()})")


@staff_cli.command("list")
def list_command() -> None:
    """Lister les comptes de l'équipe."""
    accounts = staff.list_staff()
    if not accounts:
        click.echo("Aucun compte. Créez-en un : flask --app wsgi staff add ADRESSE")
    for user in accounts:
        state = "actif" if user.active else "désactivé"
        if user.active and staff.is_locked(user):
            state = "bloqué temporairement"
        last = user.last_login_at.strftime("%d/%m/%Y %H:%M UTC") if user.last_login_at else "jamais"
        if user.active and user.invitation_pending:
            state = "invitation en attente"
        click.echo(f"{user.email}\t{state}\t{user.role.label.lower()}\tdernière connexion : {last}")


@staff_cli.command("disable")
@click.argument("email")
def disable_command(email: str) -> None:
    """Désactiver un compte (ses sessions en cours prennent fin aussitôt)."""
    user = staff.get_by_email(email)
    if user is None:
        _fail(f"Aucun compte pour {email}.")
    staff.disable_staff(user)
    audit.record(None, "staff.disable", user, after={"active": False})
    db.session.commit()
    click.echo(f"Compte désactivé : {user.email}")


def _demo_password_file() -> Path:
    """Return where the demo password is kept, next to the development database."""
    return Path(current_app.instance_path) / "demo-staff-password"


@staff_cli.command("demo")
def demo_command() -> None:
    """Créer le compte de démonstration (ou le réactiver) et afficher ses identifiants.

    Le mot de passe est gardé dans le dossier instance/ : il reste le même d'un `make run`
    à l'autre, et un mot de passe enregistré reste valable.

    Refusé hors du mode debug : un compte au mot de passe affiché n'a rien à faire en production.
    """
    if not current_app.debug:
        _fail("Refusé : le compte de démonstration n'est créé qu'en développement (FLASK_DEBUG=1).")
    saved = _demo_password_file()
    password = saved.read_text(encoding="utf-8").strip() if saved.exists() else ""
    user = staff.get_by_email(DEMO_EMAIL)
    if user is not None and password and staff.password_matches(user, password):
        user.active = True  # the same account, the same password: nothing to reset
    else:
        password = password or secrets.token_urlsafe(12)
        if user is None:
            user = staff.create_staff(DEMO_EMAIL, password, "Compte de démonstration")
        else:
            user.active = True
            staff.set_password(user, password)
        saved.parent.mkdir(parents=True, exist_ok=True)
        saved.write_text(password + "\n", encoding="utf-8")
        saved.chmod(0o600)
    db.session.commit()
    click.echo("Compte de démonstration de l'espace équipe (/admin/connexion) :")
    click.echo(f"  adresse e-mail : {user.email}")
    click.echo(f"  mot de passe   : {password}")
