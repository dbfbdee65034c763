"""Soak: mixed traffic against gunicorn + PostgreSQL for a bounded time, then the verdict.

Programme views, seat polls, meeting pages, form views, registrations (with distinct client
addresses behind one proxy hop), confirmations through the links the mail worker really sends to a
local SMTP server, and staff lists. Checks: zero 5xx, zero overbooking, each gunicorn worker's
memory growth after warm-up under 10 %. Everything on 127.0.0.1.

Settings: SOAK_SECONDS (default 300), SOAK_THREADS (6), SOAK_WARMUP (60).
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from email import message_from_bytes, policy
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from aiosmtpd.controller import Controller

PORT = 5612
SMTP_PORT = 5613
SECONDS = int(os.environ.get("SOAK_SECONDS", "300"))
THREADS = int(os.environ.get("SOAK_THREADS", "6"))
WARMUP = int(os.environ.get("SOAK_WARMUP", "60"))
SAMPLE_EVERY = 10
#: A small meeting fills up during the run: the waiting list and the seat guard are exercised.
SMALL_CAPACITY = 40
LINK = re.compile(r"https://rencontres\.irev\.test(/inscription/confirmer/[^\s<>\"]+)")

#: (what, weight): the traffic mix of the ten minutes after the invitation goes out.
MIX = [
    ("programme", 40),
    ("seat poll", 25),
    ("meeting page", 10),
    ("form", 10),
    ("register", 8),
    ("confirm", 5),
    ("admin list", 2),
]


class Mailbox:
    """aiosmtpd handler: keep the confirmation links, count the messages."""

    def __init__(self) -> None:
        self.links: list[str] = []
        self.messages = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=policy.default)
        text = message.get_body(preferencelist=("plain",)).get_content()
        with self.lock:
            self.messages += 1
            # The link is in the text and the HTML part: each person confirms once.
            self.links.extend(sorted(set(LINK.findall(text))))
        return "250 OK"

    def take_link(self) -> str | None:
        with self.lock:
            return self.links.pop() if self.links else None


class Traffic:
    """The load: a few threads drawing from the mix until the time is up."""

    def __init__(self, base: str, slugs: list[str], small: str, admin_path: str, box: Mailbox):
        self.base = base
        self.slugs = slugs
        self.small = small
        self.admin_path = admin_path
        self.box = box
        self.statuses: Counter = Counter()
        self.server_errors: list[str] = []
        self.lock = threading.Lock()
        self.deadline = 0.0
        self.run_id = uuid.uuid4().hex[:8]
        self.counter = 0

    def record(self, what: str, status: int) -> None:
        with self.lock:
            self.statuses[(what, status)] += 1
            if status >= 500:
                self.server_errors.append(f"{what}: {status}")

    def next_number(self) -> int:
        with self.lock:
            self.counter += 1
            return self.counter

    def one(self, what: str, staff: common.Visitor) -> None:
        """Do one action of the mix."""
        slug = random.choice(self.slugs)
        address = f"192.0.2.{random.randint(1, 254)}"
        visitor = common.Visitor(self.base, address)
        if what == "programme":
            status = visitor.request("GET", "/")[0]
        elif what == "seat poll":
            headers = {"HX-Request": "true"}
            status = visitor.request("GET", f"/seances/{slug}/places", headers=headers)[0]
        elif what == "meeting page":
            status = visitor.request("GET", f"/seances/{slug}")[0]
        elif what == "form":
            status = visitor.request("GET", "/inscription")[0]
        elif what == "register":
            n = self.next_number()
            target = self.small if n % 2 else slug
            status = visitor.register(f"soak-{self.run_id}-{n}@commune.example", target)
        elif what == "confirm":
            link = self.box.take_link()
            if link is None:
                return
            token = visitor.csrf(link)
            status = visitor.request("POST", link, {"csrf_token": token})[0]
        else:
            status = staff.request("GET", self.admin_path)[0]
        self.record(what, status)

    def run(self) -> None:
        """Draw actions until the deadline."""
        staff = common.Visitor(self.base, "198.51.100.1")
        staff.sign_in()
        names = [name for name, _ in MIX]
        weights = [weight for _, weight in MIX]
        while time.monotonic() < self.deadline:
            what = random.choices(names, weights)[0]
            try:
                self.one(what, staff)
            except Exception as error:  # a dropped connection counts as a failure
                self.record(what, 599)
                self.server_errors.append(f"{what}: {error!r}")


def main() -> int:
    """Seed, serve, load for SECONDS, and print the figures."""
    db_url = common.recreate_database("irev_soak")
    app = common.production_app(db_url)
    common.create_schema(app)
    seeded = common.seed(app, meetings=5, people=200, registrations=200)
    common.add_staff(app)
    from irev.extensions import db
    from irev.models import Meeting

    with app.app_context():
        small = db.session.scalar(db.select(Meeting).filter_by(slug=seeded.meeting_slugs[-1]))
        small.capacity = small.seats_taken + SMALL_CAPACITY
        db.session.commit()
        small_slug = small.slug
    admin_path = common.admin_registrations_path(app, seeded.meeting_slugs[-1])

    box = Mailbox()
    smtp = Controller(box, hostname="127.0.0.1", port=SMTP_PORT)
    smtp.start()
    env = common.app_environment(
        db_url,
        FLASK_MAIL_PORT=str(SMTP_PORT),
        FLASK_IREV_PROXY_HOPS="1",
        FLASK_RATELIMIT_STORAGE_URI=common.limiter_storage(),
        FLASK_RATELIMIT_KEY_PREFIX=f"irev-soak-{uuid.uuid4().hex[:8]}",
        FLASK_IREV_MAIL_WORKER_INTERVAL="2",
        FLASK_IREV_SIGN_IN_RATE_LIMIT="1000 per minute",
        GUNICORN_MAX_REQUESTS="0",  # no recycling: a leak must show
    )
    log = Path("/tmp/irev-soak.log")
    worker = subprocess.Popen(
        [str(Path(sys.executable).with_name("flask")), "--app", "wsgi", "mail", "worker"],
        cwd=common.ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    workers = (os.cpu_count() or 1) * 2 + 1
    samples: dict[int, list[tuple[float, int]]] = {}
    try:
        with common.gunicorn("wsgi:app", PORT, env, workers=workers, log=log) as served:
            master = served.pid
            traffic = Traffic(served.base, seeded.meeting_slugs, small_slug, admin_path, box)
            started = time.monotonic()
            traffic.deadline = started + SECONDS
            threads = [threading.Thread(target=traffic.run) for _ in range(THREADS)]
            for thread in threads:
                thread.start()
            while time.monotonic() < traffic.deadline:
                now = time.monotonic() - started
                for pid in common.worker_pids(master):
                    samples.setdefault(pid, []).append((now, common.rss_kib(pid)))
                time.sleep(SAMPLE_EVERY)
            for thread in threads:
                thread.join(60)
            elapsed = time.monotonic() - started
    finally:
        common.stop(worker)
        smtp.stop()
    return report(app, traffic, samples, elapsed, box)


def report(app, traffic: Traffic, samples, elapsed: float, box: Mailbox) -> int:
    """Print the figures and return 0 when every check passed."""
    from irev.extensions import db
    from irev.models import Meeting, Registration, RegistrationState

    total = sum(traffic.statuses.values())
    rate = total / elapsed
    print(f"soak: {elapsed:.0f} s, {THREADS} client threads, {total} requests ({rate:.0f}/s)")
    for what, _ in MIX:
        counts = {s: n for (w, s), n in sorted(traffic.statuses.items()) if w == what}
        print(f"  {what:<13} {counts}")
    failures = []
    fivexx = sum(n for (_, s), n in traffic.statuses.items() if s >= 500)
    print(f"5xx or dropped: {fivexx}")
    if fivexx:
        failures.append(f"{fivexx} server errors, e.g. {traffic.server_errors[:3]}")

    with app.app_context():
        for meeting in db.session.scalars(db.select(Meeting)):
            seated = db.session.scalar(
                db.select(db.func.count(Registration.id)).where(
                    Registration.meeting_id == meeting.id,
                    Registration.state == RegistrationState.SEATED,
                )
            )
            waiting = db.session.scalar(
                db.select(db.func.count(Registration.id)).where(
                    Registration.meeting_id == meeting.id,
                    Registration.state == RegistrationState.WAITING,
                )
            )
            print(
                f"  {meeting.slug:<40} capacity {meeting.capacity:>7} seated {seated:>4} "
                f"(counter {meeting.seats_taken}) waiting {waiting:>4}"
            )
            if seated > meeting.capacity or seated != meeting.seats_taken:
                failures.append(f"overbooking or drift on {meeting.slug}")
    print(f"e-mails received by the SMTP server: {box.messages}")

    print(f"worker memory (RSS, KiB) after {WARMUP} s warm-up, sampled every {SAMPLE_EVERY} s:")
    worst = 0.0
    for pid, series in sorted(samples.items()):
        after = [rss for t, rss in series if t >= WARMUP]
        if len(after) < 2:
            continue
        growth = (after[-1] - after[0]) / after[0] * 100
        worst = max(worst, growth)
        print(f"  worker {pid}: {after[0]} -> {after[-1]} (max {max(after)}), {growth:+.1f} %")
    print(f"largest growth after warm-up: {worst:+.1f} % (limit 10 %)")
    if worst >= 10:
        failures.append(f"memory grew {worst:.1f} %")
    for failure in failures:
        print("FAILED:", failure)
    print("soak: ok" if not failures else "soak: FAILED")
    return 1 if failures else 0


if __name__ == "__main__":
    # Stopped from outside: still stop the servers this run started (the with blocks).
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    sys.exit(main())
