"""`flask --app wsgi gdpr purge`: apply the retention periods (safe to run from cron)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from irev.extensions import db
from irev.services import gdpr
from irev.wording import plural

gdpr_cli = AppGroup("gdpr", help="Données personnelles : durées de conservation.")


@gdpr_cli.command("purge")
def purge_command() -> None:
    """Anonymiser les personnes dont les inscriptions ont toutes dépassé leur conservation."""
    report = gdpr.purge()
    db.session.commit()
    click.echo(
        plural(
            report.programmes,
            "programme au-delà de sa durée de conservation",
            "programmes au-delà de leur durée de conservation",
            "Aucun programme au-delà de sa durée de conservation",
        )
        + " ; "
        + plural(
            report.anonymised,
            "personne anonymisée",
            "personnes anonymisées",
            "aucune personne anonymisée",
        )
        + "."
    )
