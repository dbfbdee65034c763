"""Flask commands: `flask --app wsgi programme ...` (other groups live beside their services)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from irev.extensions import db
from irev.services import programmes


class CommandError(click.ClickException):
    """A command failed for a reason the operator can fix: print it in French, exit 1."""

    def show(self, file=None) -> None:
        """Print "Erreur : <message>" on standard error, without a traceback."""
        click.echo(f"Erreur : {self.format_message()}", err=True, file=file)


programme_cli = AppGroup("programme", help="Charger le programme des rencontres.")


@programme_cli.command("load")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def load_command(path: Path) -> None:
    """Charger ou mettre à jour un programme depuis un fichier YAML (sans doublon)."""
    try:
        programme = programmes.load_programme(programmes.read_programme_file(path))
    except programmes.ProgrammeFileError as error:
        raise CommandError(str(error)) from error
    db.session.commit()
    click.echo(f"Programme « {programme.title} » chargé : {len(programme.meetings)} séances.")


@programme_cli.command("demo")
def demo_command() -> None:
    """Charger le programme réel déplacé sur les prochains premiers mercredis (démonstration)."""
    try:
        data = programmes.read_programme_file(programmes.DEFAULT_FILE)
        programme = programmes.load_programme(data, demo=True)
    except programmes.ProgrammeFileError as error:
        raise CommandError(str(error)) from error
    db.session.commit()
    click.echo(
        f"Programme de démonstration « {programme.title} » : {len(programme.meetings)} séances."
    )


def init_app(app: Flask) -> None:
    """Register the command groups."""
    app.cli.add_command(programme_cli)
    from irev.mail_cli import mail_cli

    app.cli.add_command(mail_cli)
    from irev.gdpr_cli import gdpr_cli
    from irev.staff_cli import staff_cli

    app.cli.add_command(staff_cli)
    app.cli.add_command(gdpr_cli)
    from irev.registration.commands import registrations_cli

    app.cli.add_command(registrations_cli)
    from irev.territories_cli import territories_cli

    app.cli.add_command(territories_cli)
