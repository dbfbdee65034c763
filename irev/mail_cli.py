"""The `flask --app wsgi mail ...` commands: one sending pass, or the worker loop."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import click
from flask import current_app
from flask.cli import AppGroup

from irev.extensions import db
from irev.mail import is_capture
from irev.services import link_schedule, sending
from irev.wording import plural

mail_cli = AppGroup("mail", help="Envoyer les e-mails en attente (liens de visio, confirmations…).")

log = logging.getLogger(__name__)


def _check_schedule() -> None:
    """Refuse to start with an unreadable IREV_VIDEO_LINK_SCHEDULE."""
    try:
        link_schedule.configured_schedule()
    except link_schedule.ScheduleError as error:
        raise click.ClickException(str(error)) from error


def _describe(report: sending.PassReport) -> str:
    """Return the French summary of a pass."""
    sending = report.sending
    parts = [
        plural(report.queued, "e-mail programmé", "e-mails programmés", "aucun e-mail programmé")
    ]
    if is_capture():
        captured = plural(sending.captured, "capturé", "capturés")
        parts.append(f"{captured} (pas de serveur SMTP : FLASK_MAIL_SERVER)")
    else:
        parts.append(plural(sending.sent, "envoyé", "envoyés"))
    parts.append(f"{sending.retried} à réessayer")
    parts.append(f"{sending.failed} en échec")
    parts.append(plural(sending.skipped, "devenu sans objet", "devenus sans objet"))
    return ", ".join(parts) + "."


@mail_cli.command("send")
def send_command() -> None:
    """Programmer ce qui est dû (liens de visio…) puis envoyer les e-mails en attente."""
    _check_schedule()
    report = sending.run_pass()
    click.echo(_describe(report))
    if report.sending.errors:
        click.echo(f"Dernière erreur : {report.sending.errors[-1]}", err=True)


@mail_cli.command("worker")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=None,
    help="Secondes entre deux passes (défaut : IREV_MAIL_WORKER_INTERVAL, 30).",
)
@click.option("--once", is_flag=True, help="Une seule passe puis s'arrêter (tests, cron).")
def worker_command(interval: float | None, once: bool) -> None:
    """Envoyer en continu : une passe toutes les 30 secondes, arrêt propre sur SIGTERM/SIGINT."""
    _check_schedule()
    interval = interval or float(current_app.config["IREV_MAIL_WORKER_INTERVAL"])
    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        # Finish the message in hand, then leave: the rest of the batch is released.
        stopping.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    where = "capture en base : FLASK_MAIL_SERVER non défini" if is_capture() else "SMTP"
    every = "chaque seconde" if interval == 1 else f"toutes les {interval:g} secondes"
    click.echo(f"Envoi des e-mails : une passe {every} ({where}).")
    try:
        while not stopping.is_set():
            try:
                report = sending.run_pass(stop=stopping.is_set)
                if report.queued or report.sending.delivered or report.sending.errors:
                    click.echo(_describe(report))
            except Exception:  # one bad pass (database restarting ...) must not end the worker
                db.session.rollback()
                log.exception("mail pass failed")
            finally:
                db.session.remove()
            if once:
                break
            stopping.wait(interval)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo("Envoi des e-mails arrêté.")
