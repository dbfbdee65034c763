"""Benchmark: 1,000 video-link e-mails through the real pipeline vs plain smtplib, same run.

    .venv/bin/python bench/bench_mail.py                 # SQLite file in a temporary folder
    .venv/bin/python bench/bench_mail.py --postgresql    # a scratch PostgreSQL database
    .venv/bin/python bench/bench_mail.py --profile       # pyinstrument profile of the pipeline
    .venv/bin/python bench/bench_mail.py --server postfix  # a private Postfix (Debian's)

The pipeline is what `flask mail send` does: derive the due video links from the seated
registrations, queue them in the outbox, claim, render (three templates, tokens, the .ics),
send in batches over one SMTP connection each, and mark every row sent with its raw message.
The reference sends the very same 1,000 raw messages with smtplib over one connection.
Both go to the same server: a local aiosmtpd (in its own process, discarding messages), or a
private Postfix instance (tests/postfix.py: Debian's package, delivering into a Maildir),
which the script starts and stops itself. With Postfix, smtplib starts only once Postfix has
delivered what the pipeline sent. The ratio is the pipeline's rate over smtplib's (the issue
asks for at least 0.7 against aiosmtpd and 0.8 against Postfix).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HOST = "127.0.0.1"
PORT = int(os.environ.get("BENCH_SMTP_PORT", "5310"))


def start_smtp_server(port: int) -> subprocess.Popen:
    """Start aiosmtpd (Sink handler) in its own process and wait until it answers."""
    process = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"{HOST}:{port}", "-c",
         "aiosmtpd.handlers.Sink"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit(f"aiosmtpd did not start on {HOST}:{port}")


@contextlib.contextmanager
def smtp_server(kind: str):
    """Run the SMTP server of a measurement; yield (port, wait_until_delivered(count))."""
    if kind == "postfix":
        from tests import postfix

        with postfix.running() as instance:
            yield instance.port, lambda count: instance.wait_for(count, timeout=300)
        return
    process = start_smtp_server(PORT)
    try:
        yield PORT, lambda count: None
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class Result:
    """One measurement: the pipeline and plain smtplib on the same server, same run."""

    server: str
    database: str
    sent: int
    pipeline_seconds: float
    pipeline_cpu: float
    plain_seconds: float
    plain_cpu: float

    @property
    def ratio(self) -> float:
        return (self.sent / self.pipeline_seconds) / (self.sent / self.plain_seconds)


def measure(server: str = "aiosmtpd", database: str = "sqlite", count: int = 1000,
            profile: bool = False, workers: int = 1) -> Result:  # fmt: skip
    """Send `count` video links through the pipeline, then the same bytes with smtplib.

    workers > 1: that many mail workers share the outbox, as docs/deploy.md allows on
    PostgreSQL (each claims its rows with SKIP LOCKED, each keeps one message in flight).
    """
    with smtp_server(server) as (port, delivered):
        app, _ = build_app(database, count, port)
        if workers > 1:
            pipeline_seconds, pipeline_cpu, sent = run_workers(app, workers)
        else:
            pipeline_seconds, pipeline_cpu, sent = run_pipeline(app, profile)
        if sent != count:
            raise SystemExit(f"the pipeline sent {sent} messages instead of {count}")
        delivered(count)  # Postfix: its deliveries must not slow smtplib's turn down
        messages = sent_messages(app)
        plain_seconds, plain_cpu = run_smtplib(messages, port)
        delivered(2 * count)
    return Result(server, database, sent, pipeline_seconds, pipeline_cpu, plain_seconds,
                  plain_cpu)  # fmt: skip


def build_app(database: str, count: int, port: int = PORT):
    """Create the app on a fresh database with one meeting and `count` seated registrants."""
    from irev import create_app
    from irev.extensions import db
    from irev.models import Meeting, MeetingStatus, Person, Programme, Registration, utcnow
    from irev.models import RegistrationState as S

    if database == "postgresql":
        from bench import common

        url = common.recreate_database("irev_bench_mail")
    else:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='irev-bench-mail-')}/bench.sqlite3"
    app = create_app(
        {
            "TESTING": False,
            "DEBUG": False,
            "SECRET_KEY": "bench-secret-key-" + "x" * 32,
            "SQLALCHEMY_DATABASE_URI": url,
            "IREV_BASE_URL": "https://rencontres.irev.test",
            "MAIL_SERVER": HOST,
            "MAIL_PORT": port,
            "MAIL_SUPPRESS_SEND": False,
        }
    )
    with app.app_context():
        db.create_all()
        programme = Programme(
            slug="bench", title="Rencontres des élus", year=2023, audience="Élus",
            contact_name="Morgane Petit", contact_email="m.petit@irev.fr",
        )  # fmt: skip
        start = utcnow().replace(microsecond=0) + timedelta(hours=2)
        meeting = Meeting(
            programme=programme, slug="mixite-sociale", title="Mixité sociale dans l’habitat",
            starts_at=start, ends_at=start + timedelta(hours=2), capacity=count,
            seats_taken=count, status=MeetingStatus.PUBLISHED,
            video_url="https://zoom.us/j/91234567890?pwd=abc", video_meeting_id="912 3456 7890",
            video_passcode="123456",
        )  # fmt: skip
        db.session.add(meeting)
        for n in range(count):
            person = Person(
                email=f"elu{n}@commune{n % 50}.example", first_name="Camille",
                last_name=f"Martin {n}", organisation="Commune de Roubaix",
            )  # fmt: skip
            db.session.add(Registration(person=person, meeting=meeting, state=S.SEATED))
        db.session.commit()
    return app, url


def run_pipeline(app, profile: bool) -> tuple[float, float, int]:
    """Schedule, queue, render and send everything; return (seconds, CPU seconds, sent)."""
    from irev.extensions import db
    from irev.services import sending

    with app.app_context():
        profiler = None
        if profile:
            from pyinstrument import Profiler

            profiler = Profiler()
            profiler.start()
        started, cpu_started = time.perf_counter(), time.process_time()
        report = sending.run_pass()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        if profiler is not None:
            profiler.stop()
            print(profiler.output_text(unicode=True, color=False, show_all=False))
        db.session.remove()
    return elapsed, cpu, report.sending.sent


def run_workers(app, workers: int) -> tuple[float, float, int]:
    """Run `workers` forked passes at once; return (seconds, their CPU seconds, sent in all)."""
    from irev.extensions import db
    from irev.services import sending

    with app.app_context():
        db.engine.dispose()  # no connection may cross the fork
    started = time.perf_counter()
    children = []
    for _ in range(workers):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # a worker: one pass, as `flask mail send`, then its count on the pipe
            os.close(read_end)
            code = 1
            try:
                with app.app_context():
                    report = sending.run_pass()
                    os.write(write_end, str(report.sending.sent).encode())
                    db.session.remove()
                code = 0
            finally:
                os._exit(code)
        os.close(write_end)
        children.append((pid, read_end))
    sent, cpu = 0, 0.0
    for pid, read_end in children:
        with os.fdopen(read_end) as pipe:
            text = pipe.read()
        _, status, usage = os.wait4(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0 or not text:
            raise SystemExit(f"a mail worker failed (status {status})")
        sent += int(text)
        cpu += usage.ru_utime + usage.ru_stime
    return time.perf_counter() - started, cpu, sent


def sent_messages(app) -> list[tuple[str, str, bytes]]:
    """Return (from, to, raw bytes) of every message the pipeline sent."""
    from sqlalchemy import select

    from irev.extensions import db
    from irev.mail import envelope_sender
    from irev.models import EmailStatus, OutboundEmail

    with app.app_context():
        rows = db.session.scalars(
            select(OutboundEmail).where(OutboundEmail.status == EmailStatus.SENT)
        ).all()
        sender = envelope_sender()
        return [(sender, row.to_address, row.raw_message.encode()) for row in rows]


def run_smtplib(messages: list[tuple[str, str, bytes]], port: int = PORT) -> tuple[float, float]:
    """Send pre-built messages over one plain smtplib connection; return (seconds, CPU)."""
    started, cpu_started = time.perf_counter(), time.process_time()
    with smtplib.SMTP(HOST, port) as connection:
        for sender, recipient, raw in messages:
            refused = connection.sendmail(sender, [recipient], raw)
            assert not refused
    return time.perf_counter() - started, time.process_time() - cpu_started


def main() -> None:
    """Run both, print the table and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--postgresql", action="store_true", help="use a scratch PostgreSQL db")
    parser.add_argument("--profile", action="store_true", help="profile the pipeline")
    parser.add_argument("--server", choices=("aiosmtpd", "postfix"), default="aiosmtpd")
    parser.add_argument("--workers", type=int, default=1, help="mail workers sharing the outbox")
    args = parser.parse_args()
    if args.workers > 1 and not args.postgresql:
        parser.error("several workers need --postgresql (SQLite has no SKIP LOCKED)")
    database = "postgresql" if args.postgresql else "sqlite"
    if args.server == "postfix":
        from tests import postfix

        if postfix.unavailable():
            raise SystemExit(f"Postfix absent: {postfix.unavailable()}")
    result = measure(args.server, database, args.count, args.profile, args.workers)
    pipeline_rate = result.sent / result.pipeline_seconds
    plain_rate = result.sent / result.plain_seconds
    target = 0.8 if args.server == "postfix" else 0.7
    print(f"E-mail benchmark: {args.count} video-link messages, database {database}, "
          f"{args.server} on {HOST}")  # fmt: skip
    print()
    print("| Sender                                        | Messages | Seconds | CPU s | Msg/s |")
    print("|-----------------------------------------------|---------:|--------:|------:|------:|")
    for label, seconds, cpu, rate in (
        (f"irev pipeline, {args.workers} worker(s)", result.pipeline_seconds,
         result.pipeline_cpu, pipeline_rate),
        ("plain smtplib, same raw messages, 1 connection", result.plain_seconds,
         result.plain_cpu, plain_rate),
    ):  # fmt: skip
        print(f"| {label:<46}| {result.sent:8d} | {seconds:7.2f} | {cpu:5.2f} | {rate:5.0f} |")
    print()
    print(f"Ratio (pipeline rate / smtplib rate): {result.ratio:.2f} (target ≥ {target})")
    print(f"Machine load (1 min) during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
