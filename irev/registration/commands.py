"""Commands: `flask --app wsgi registrations purge` (for cron, beside `mail send`)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from irev.extensions import db
from irev.services.registrations import purge_expired_requests

registrations_cli = AppGroup("registrations", help="Entretenir les inscriptions.")


@registrations_cli.command("purge")
def purge_command() -> None:
    """Effacer les demandes jamais confirmées dont le lien a expiré (sans effet sinon)."""
    requests, people = purge_expired_requests()
    db.session.commit()
    click.echo(
        f"{requests} demande{'s' if requests > 1 else ''} non confirmée"
        f"{'s' if requests > 1 else ''} effacée{'s' if requests > 1 else ''}, "
        f"{people} personne{'s' if people > 1 else ''} sans inscription effacée"
        f"{'s' if people > 1 else ''}."
    )
