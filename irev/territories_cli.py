"""`flask --app wsgi territories load`: fill the communes and EPCI tables from Etalab's JSON."""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from irev.cli import CommandError
from irev.extensions import db
from irev.services.territories_load import TerritoryFilesMissing, load_territories

territories_cli = AppGroup("territories", help="Communes et intercommunalités (code officiel).")


@territories_cli.command("load")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Dossier des fichiers JSON (par défaut : FLASK_IREV_TERRITORIES_DIR).",
)
def load_command(directory: Path | None) -> None:
    """Charger ou rafraîchir communes, EPCI, départements et régions (sans doublon)."""
    started = time.perf_counter()
    try:
        counts = load_territories(directory or Path(current_app.config["IREV_TERRITORIES_DIR"]))
    except TerritoryFilesMissing as error:
        raise CommandError(str(error)) from error
    db.session.commit()
    click.echo(
        f"Territoires chargés en {time.perf_counter() - started:.1f} s : "
        f"{counts.communes} communes, {counts.epci} EPCI, "
        f"{counts.departements} départements, {counts.regions} régions."
    )
