"""Shared helpers of the benchmarks: a scratch PostgreSQL database, seeding, gunicorn, wrk.

Everything talks to 127.0.0.1 only, and every run is bounded in time.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.http_client import Client

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))
#: Where the benchmarks keep their PostgreSQL databases (dropped and created anew each run).
SERVER_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
SECRET_KEY = "bench-secret-key-" + "x" * 32
STAFF_EMAIL = "bench.staff@irev.fr"
STAFF_PASSWORD = "mot-de-passe-du-banc-d-essai"


def database_url(name: str) -> str:
    """Return the URL of a benchmark database on the local PostgreSQL server."""
    return f"{SERVER_URL}/{name}"


def recreate_database(name: str) -> str:
    """Drop and create a scratch database; return its URL.

    BENCH_DB_SUFFIX (letters, digits) keeps two checkouts benchmarking at once apart.
    """
    name += os.environ.get("BENCH_DB_SUFFIX", "")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError(name)
    engine = sa.create_engine(f"{SERVER_URL}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return database_url(name)


def app_environment(db_url: str, **extra: str) -> dict[str, str]:
    """Return the environment of a production-like app process (not debug, not testing)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    env.update(
        FLASK_SECRET_KEY=SECRET_KEY,
        FLASK_SQLALCHEMY_DATABASE_URI=db_url,
        FLASK_IREV_BASE_URL="https://rencontres.irev.test",
        # A port nobody listens on: nothing is sent during a benchmark (no worker runs).
        FLASK_MAIL_SERVER="127.0.0.1",
        FLASK_MAIL_PORT="5699",
        FLASK_IREV_PROXY_HOPS="0",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(extra)
    return env


def limiter_storage() -> str:
    """Return a Redis URI for rate limits when Redis answers (as in production), else memory."""
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return "redis://127.0.0.1:6379/14"
    except OSError:
        return "memory://"


def production_app(db_url: str, **config: Any):
    """Build the real application in this process, configured as production."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(app_environment(db_url))
    try:
        from irev import create_app

        app = create_app(config or None)
        # This in-process copy only seeds and counts SQL: keep its request lines quiet.
        logging.getLogger("irev.request").setLevel(logging.WARNING)
        return app
    finally:
        os.environ.clear()
        os.environ.update(saved)


# --- Seeding -------------------------------------------------------------------------------------


@dataclass
class Seeded:
    """What a benchmark needs to know about the data it loaded."""

    programme_id: int
    meeting_slugs: list[str]
    #: An open meeting with plenty of free seats: registrations go there.
    open_slug: str
    meetings: int
    people: int
    registrations: int


def create_schema(app) -> None:
    """Create the tables in the app's (empty) database."""
    from irev.extensions import db

    with app.app_context():
        db.create_all()


def seed(app, *, meetings: int, people: int, registrations: int) -> Seeded:
    """Load a programme with that many meetings, people and registrations, through the models.

    With meetings=5 this is the real programme file (moved onto coming dates); more meetings are
    generated like it. Registrations spread evenly over the meetings, seated within capacity,
    the rest on the waiting list, as the registration rules would leave them.
    """
    from irev.extensions import db
    from irev.models import Meeting, Person, Registration, RegistrationState, utcnow
    from irev.services import programmes

    with app.app_context():
        data = programmes.read_programme_file(programmes.DEFAULT_FILE)
        programme = programmes.load_programme(data, demo=True)
        db.session.flush()
        existing = sorted(programme.meetings, key=lambda m: m.starts_at)
        template = existing[-1]
        start = max(m.starts_at for m in existing)
        for n in range(len(existing), meetings):
            starts_at = start + timedelta(days=7 * (n - len(existing) + 1))
            db.session.add(
                Meeting(
                    programme=programme,
                    slug=f"seance-generee-{n + 1:03d}",
                    title=f"Séance de travail n° {n + 1} : {template.title}",
                    starts_at=starts_at,
                    ends_at=starts_at + timedelta(hours=2),
                    mode=template.mode,
                    description=template.description,
                    speakers=template.speakers,
                    partners=template.partners,
                    capacity=template.capacity,
                    status=template.status,
                    approval_mode=template.approval_mode,
                    video_url=template.video_url,
                    video_meeting_id=template.video_meeting_id,
                    video_passcode=template.video_passcode,
                )
            )
        db.session.flush()
        all_meetings = sorted(programme.meetings, key=lambda m: m.starts_at)[:meetings]
        # The first upcoming meeting takes the benchmark's registrations: give it room.
        upcoming = [m for m in all_meetings if m.registration_open()]
        target = upcoming[0]
        target.capacity = 1_000_000
        db.session.flush()

        now = utcnow()
        departments = ["Aisne", "Nord", "Oise", "Pas-de-Calais", "Somme"]
        db.session.execute(
            sa.insert(Person),
            [
                dict(
                    email=f"elu{n}@commune{n % 500}.example",
                    first_name="Camille",
                    last_name=f"Élu{n}",
                    phone="",
                    organisation=f"Commune n° {n % 500}",
                    mandate="maire",
                    department=departments[n % 5],
                    accessibility_needs="",
                    link_version=0,
                    created_at=now,
                    updated_at=now,
                )
                for n in range(people)
            ],
        )
        person_ids = list(db.session.scalars(sa.select(Person.id).order_by(Person.id)))
        seats = {m.id: m.seats_taken for m in all_meetings}
        rows = []
        for n in range(registrations):
            meeting = all_meetings[n % len(all_meetings)]
            # Person n takes meetings n, n+1 ... so nobody registers twice for one meeting.
            person_id = person_ids[(n // len(all_meetings)) % len(person_ids)]
            seated = seats[meeting.id] < meeting.capacity
            seats[meeting.id] += 1 if seated else 0
            rows.append(
                dict(
                    person_id=person_id,
                    meeting_id=meeting.id,
                    state=RegistrationState.SEATED if seated else RegistrationState.WAITING,
                    request_key=f"seed-{n}",
                    requested_at=now,
                    confirmed_at=now,
                    state_changed_at=now - timedelta(seconds=registrations - n),
                    reason="",
                    source="formulaire",
                )
            )
        if rows:
            db.session.execute(sa.insert(Registration), rows)
        for meeting in all_meetings:
            meeting.seats_taken = seats[meeting.id]
        db.session.commit()
        return Seeded(
            programme_id=programme.id,
            meeting_slugs=[m.slug for m in all_meetings],
            open_slug=target.slug,
            meetings=len(all_meetings),
            people=people,
            registrations=registrations,
        )


def admin_registrations_path(app, slug: str) -> str | None:
    """Return the staff page listing a meeting's registrations, if the staff area has one."""
    from flask import url_for

    from irev.extensions import db
    from irev.models import Meeting

    if "admin.registrations" not in app.view_functions:
        return None
    with app.app_context():
        meeting_id = db.session.scalar(db.select(Meeting.id).filter_by(slug=slug))
    with app.test_request_context():
        return url_for("admin.registrations", meeting_id=meeting_id)


def add_staff(app) -> None:
    """Create the staff account the benchmarks sign in with."""
    from irev.extensions import db
    from irev.services import staff

    with app.app_context():
        staff.create_staff(STAFF_EMAIL, STAFF_PASSWORD)
        db.session.commit()


# --- Serving -------------------------------------------------------------------------------------


@dataclass
class Served:
    """A running gunicorn: its address and its master's process id."""

    base: str
    pid: int


@contextmanager
def gunicorn(
    app_spec: str, port: int, env: dict[str, str], *, workers: int, log: Path | None = None
) -> Iterator[Served]:
    """Serve app_spec with the deployment's gunicorn configuration on 127.0.0.1:port."""
    env = {
        **env,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(workers),
        "GUNICORN_MAX_REQUESTS": "0",  # no recycling in the middle of a measurement
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'bench'}",
    }
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        [GUNICORN, "--config", str(ROOT / "deploy" / "gunicorn.conf.py"), app_spec],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=out,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, process)
        yield Served(base, process.pid)
    finally:
        stop(process)
        if log:
            out.close()


def wait_until_up(base: str, process: subprocess.Popen, timeout: float = 30) -> None:
    """Wait until the server answers on / (any status), or fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server on {base} stopped at start (code {process.returncode})")
        try:
            urllib.request.urlopen(base + "/", timeout=2)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server on {base} did not start within {timeout} s")


def stop(process: subprocess.Popen, timeout: float = 15) -> None:
    """Stop a process started by these helpers (SIGTERM, then SIGKILL), by its own id."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def worker_pids(master_pid: int) -> list[int]:
    """Return the ids of a gunicorn master's worker processes."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    try:
        return [int(p) for p in children.read_text().split()]
    except OSError:
        return []


def rss_kib(pid: int) -> int:
    """Return the resident memory of a process, in KiB (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


# --- Load ----------------------------------------------------------------------------------------


def ensure_wrk() -> str:
    """Return the path of wrk, installing Debian's package when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing: apt-get install -y wrk", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    apt = ["apt-get"] if os.geteuid() == 0 else ["sudo", "apt-get"]
    if subprocess.run([*apt, "install", "-y", "-q", "wrk"], env=env, check=False).returncode:
        subprocess.run([*apt, "update", "-q"], env=env, check=True)
        subprocess.run([*apt, "install", "-y", "-q", "wrk"], env=env, check=True)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk could not be installed (apt-get install -y wrk)")
    return found


@dataclass
class Load:
    """What wrk measured on one URL."""

    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx/3xx answers plus socket errors (timeouts, resets)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(value: str) -> float:
    """Turn wrk's "1.23ms" / "850.00us" / "1.02s" into milliseconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value.strip())
    if not match:
        raise ValueError(value)
    return float(match.group(1)) * _UNITS[match.group(2)]


def run_wrk(
    url: str,
    *,
    seconds: int,
    connections: int,
    threads: int = 2,
    script: Path | None = None,
    headers: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
) -> Load:
    """Load url with wrk for a fixed duration and return its figures."""
    command = [ensure_wrk(), f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    command += ["--timeout", "5s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if script:
        command += ["-s", str(script)]
    command.append(url)
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        env={**os.environ, **(env or {})},
        check=True,
    )
    return parse_wrk(result.stdout)


def parse_wrk(output: str) -> Load:
    """Read requests/s, p50, p99 and errors from wrk's --latency output."""
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", output, re.MULTILINE))
    if "99" not in percentiles:
        # wrk leaves the latency table empty when too few requests completed to sample it.
        percentiles = {"50": "0ms", "99": "0ms"}
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    errors = 0
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non2xx:
        errors += int(non2xx.group(1))
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if socket:
        # A sync gunicorn worker closes every connection: "read" errors are those closes.
        errors += int(socket.group(1)) + int(socket.group(3)) + int(socket.group(4))
    return Load(
        requests=requests,
        rps=rps,
        p50_ms=_ms(percentiles["50"]),
        p99_ms=_ms(percentiles["99"]),
        errors=errors,
    )


# --- A visitor -----------------------------------------------------------------------------------


class Visitor(Client):
    """One browser over plain HTTP to the app under test (the tests' client, plus staff sign-in)."""

    def __init__(self, base: str, address: str = "") -> None:
        super().__init__(int(base.rsplit(":", 1)[1]), address)

    def sign_in(self) -> None:
        """Sign the benchmark's staff account in."""
        token = self.csrf("/admin/connexion")
        form = {"csrf_token": token, "email": STAFF_EMAIL, "password": STAFF_PASSWORD}
        status, _ = self.request("POST", "/admin/connexion", form)
        if status != 303:
            raise RuntimeError(f"staff sign-in failed: {status}")
