"""`make bench`: each page of the site against a bare Flask route, served the same way.

For each data size (the real programme, then a large one) the script loads a fresh PostgreSQL
database through the models, serves the real application and a bare Flask app with the
deployment's gunicorn configuration (same worker count) on 127.0.0.1, loads every route with wrk
for a fixed time right after loading the bare app for the same time, and prints requests per
second, p50 and p99 latency and the ratios. It also counts the SQL statements each route runs
(a SQLAlchemy before_cursor_execute hook in this process only), which must not grow with the data.

Then the mail rows: 1,000 video links through the whole mail pipeline (bench/bench_mail.py)
against plain smtplib sending the same bytes, in the same run, first to aiosmtpd, then to a
private Postfix (Debian's package) that the script starts and stops itself; without Postfix it
says so and goes on. The machine (cores, CPU, load average) is printed with the table.

Settings (environment): BENCH_SECONDS (per measurement, default 10), BENCH_CONNECTIONS (8),
BENCH_SIZES ("real,large"; empty: no page rows), BENCH_MAIL ("aiosmtpd,postfix"; empty: no
mail rows), BENCH_MAIL_DATABASE ("postgresql" or "sqlite"), BENCH_MAIL_COUNT (1000),
BENCH_MAIL_WORKERS ("1"; "1,2" adds rows with two mail workers sharing the outbox),
BENCH_POSTGRES_URL (postgresql+psycopg://postgres@127.0.0.1:5432), BENCH_DB_SUFFIX (added to
the scratch databases' names), BENCH_APP_PORT and BENCH_BARE_PORT (5610, 5611).
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import sqlcount

APP_PORT = int(os.environ.get("BENCH_APP_PORT", "5610"))
BARE_PORT = int(os.environ.get("BENCH_BARE_PORT", "5611"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))
WORKERS = (os.cpu_count() or 1) * 2 + 1
SUBMIT_LUA = Path(__file__).with_name("submit.lua")

#: (name, rows): the real programme, and a large one to show how the cost grows.
SIZES = {
    "real": dict(meetings=5, people=200, registrations=200),
    "large": dict(meetings=100, people=10_000, registrations=20_000),
}
#: Targets: ratio of the route's requests/s to bare Flask's, measured in the same run, per size.
TARGETS = {
    "programme": {"real": 0.6, "large": 0.6},
    "seat fragment": {"real": 0.8, "large": 0.8},
    "registration form": {"real": 0.5, "large": 0.3},
    "registration submit": {"real": 0.25, "large": 0.25},
    "programme, cookie": {"real": 0.8, "large": 0.8},
    "seat fragment, cookie": {"real": 0.8, "large": 0.8},
    "admin registrations": {"real": 0.2, "large": 0.2},
}
#: Targets of the mail rows: pipeline rate over smtplib's, same server, same run.
MAIL_TARGETS = {"aiosmtpd": 0.7, "postfix": 0.8}
#: Limits raised for the benchmark only: one client sends thousands of forms.
BENCH_LIMITS = {
    "FLASK_IREV_RATELIMIT_SUBMIT_IP": "10000000 per minute",
    "FLASK_IREV_RATELIMIT_SUBMIT_EMAIL": "10000000 per minute",
    "FLASK_IREV_RATELIMIT_CHECK_IP": "10000000 per minute",
    "FLASK_IREV_RATELIMIT_CHECK_EMAIL": "10000000 per minute",
    "FLASK_IREV_SIGN_IN_RATE_LIMIT": "10000000 per minute",
}


@dataclass
class Route:
    """One measured route: how to load it with wrk."""

    name: str
    path: str
    headers: dict[str, str]
    script: Path | None = None
    script_env: dict[str, str] | None = None


@dataclass
class Row:
    """One line of the result table."""

    size: str
    route: str
    rps: float
    p50: float
    p99: float
    bare_rps: float
    bare_p50: float
    bare_p99: float
    errors: int
    sql_cold: int | None
    sql_warm: int | None

    @property
    def ratio(self) -> float:
        return self.rps / self.bare_rps if self.bare_rps else 0.0

    @property
    def p99_ratio(self) -> float:
        return self.p99 / self.bare_p99 if self.bare_p99 else 0.0


def routes(app, base: str, seeded: common.Seeded, run_id: str) -> list[Route]:
    """Return the routes to measure, with what each needs (cookies, CSRF, htmx header)."""
    slug = seeded.open_slug
    found = [
        Route("programme", "/", {}),
        Route("meeting page", f"/seances/{slug}", {}),
        Route("seat fragment", f"/seances/{slug}/places", {"HX-Request": "true"}),
        Route("registration form", "/inscription", {}),
    ]
    visitor = common.Visitor(base)
    token = visitor.csrf("/inscription")
    cookie = "; ".join(f"{k}={v}" for k, v in visitor.cookies.items())
    # A visitor who opened the form carries a session cookie holding only its CSRF token: the
    # finished-response cache checks its signature and keys, then serves it like a visitor
    # without cookies (irev/response_cache.py); any other session goes through Flask.
    found += [
        Route("programme, cookie", "/", {"Cookie": cookie}),
        Route(
            "seat fragment, cookie",
            f"/seances/{slug}/places",
            {"HX-Request": "true", "Cookie": cookie},
        ),
    ]
    found.append(
        Route(
            "registration submit",
            "/inscription",
            {},
            script=SUBMIT_LUA,
            script_env={
                "BENCH_COOKIE": cookie,
                "BENCH_CSRF": token,
                "BENCH_MEETING": slug,
                "BENCH_RUN": run_id,
            },
        )
    )
    path = common.admin_registrations_path(app, seeded.meeting_slugs[0])
    if path:
        staff = common.Visitor(base)
        staff.sign_in()
        cookie = "; ".join(f"{k}={v}" for k, v in staff.cookies.items())
        found.append(Route("admin registrations", path, {"Cookie": cookie}))
    return found


def measure(base: str, bare: str, route: Route) -> tuple[common.Load, common.Load]:
    """Load bare Flask, then the route, for the same time and concurrency."""
    url = base + route.path
    # Warm every worker (templates compiled, caches filled) before measuring.
    common.run_wrk(
        url,
        seconds=1,
        connections=CONNECTIONS,
        headers=route.headers,
        script=route.script,
        env=route.script_env,
    )
    baseline = common.run_wrk(bare + "/", seconds=SECONDS, connections=CONNECTIONS)
    load = common.run_wrk(
        url,
        seconds=SECONDS,
        connections=CONNECTIONS,
        headers=route.headers,
        script=route.script,
        env=route.script_env,
    )
    return load, baseline


def bench_size(size: str, bare: str, rows: list[Row]) -> None:
    """Seed one data size, serve it, count SQL and measure every route."""
    counts = SIZES[size]
    print(
        f"\n== {size}: {counts['meetings']} meetings, {counts['people']} people, "
        f"{counts['registrations']} registrations",
        flush=True,
    )
    db_url = common.recreate_database(f"irev_bench_{size}")
    env = common.app_environment(
        db_url,
        FLASK_RATELIMIT_STORAGE_URI=common.limiter_storage(),
        FLASK_RATELIMIT_KEY_PREFIX=f"irev-bench-{size}-{int(time.time())}",
        **BENCH_LIMITS,
    )
    app = common.production_app(db_url, **{k[6:]: v for k, v in BENCH_LIMITS.items()})
    common.create_schema(app)
    started = time.monotonic()
    seeded = common.seed(app, **counts)
    common.add_staff(app)
    print(f"   seeded in {time.monotonic() - started:.1f} s", flush=True)

    log = Path(tempfile.gettempdir()) / f"irev-bench-{size}.log"
    with common.gunicorn("wsgi:app", APP_PORT, env, workers=WORKERS, log=log) as served:
        base = served.base
        run_id = f"{size}{int(time.time())}"
        for route in routes(app, base, seeded, run_id):
            try:
                cold, warm = sqlcount.statements(app, route, base)
                load, baseline = measure(base, bare, route)
            except Exception as error:  # one broken route must not hide the others' figures
                print(f"   {size:<6} {route.name:<22} FAILED: {error}", flush=True)
                continue
            rows.append(
                Row(
                    size=size,
                    route=route.name,
                    rps=load.rps,
                    p50=load.p50_ms,
                    p99=load.p99_ms,
                    bare_rps=baseline.rps,
                    bare_p50=baseline.p50_ms,
                    bare_p99=baseline.p99_ms,
                    errors=load.errors,
                    sql_cold=cold,
                    sql_warm=warm,
                )
            )
            print("   " + format_row(rows[-1]), flush=True)
        if any(r.route == "registration submit" for r in rows if r.size == size):
            print("   " + sqlcount.check_submissions(app, run_id), flush=True)


HEADER = (
    f"{'data':<6} {'route':<22} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
    f"{'bare req/s':>10} {'bare p99':>8} {'ratio':>6} {'p99 x':>6} {'SQL':>7} {'errors':>6}"
)


def format_row(row: Row) -> str:
    """Return one table line."""
    sql = "-" if row.sql_warm is None else f"{row.sql_cold}/{row.sql_warm}"
    return (
        f"{row.size:<6} {row.route:<22} {row.rps:>8.0f} {row.p50:>7.2f} {row.p99:>7.2f} "
        f"{row.bare_rps:>10.0f} {row.bare_p99:>8.2f} {row.ratio:>6.2f} {row.p99_ratio:>6.2f} "
        f"{sql:>7} {row.errors:>6}"
    )


def verdicts(rows: list[Row]) -> list[str]:
    """Return one line per target: met or missed, with the figures."""
    lines = []
    for row in rows:
        target = TARGETS.get(row.route, {}).get(row.size)
        if target:
            mark = "ok" if row.ratio >= target else "MISSED"
            lines.append(f"{mark:<6} {row.size}: {row.route} ratio {row.ratio:.2f} ≥ {target}")
        if row.p99 and row.bare_p99:  # wrk leaves p99 empty when too few requests completed
            mark = "ok" if row.p99_ratio <= 3 else "MISSED"
            lines.append(f"{mark:<6} {row.size}: {row.route} p99 {row.p99_ratio:.2f}× bare ≤ 3×")
    for route in sorted({r.route for r in rows}):
        counts = [(r.size, r.sql_warm) for r in rows if r.route == route and r.sql_warm is not None]
        values = {c for _, c in counts}
        if len(counts) > 1:
            mark = "ok" if len(values) == 1 else "GROWS"
            lines.append(f"{mark:<6} SQL statements of {route}: {counts}")
    return lines


def machine() -> str:
    """Return the core count, CPU model, memory and load averages (1, 5, 15 min)."""
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    load = " / ".join(Path("/proc/loadavg").read_text().split()[:3])
    memory = next(
        (line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
         if line.startswith("MemTotal:")),
        "0",
    )  # fmt: skip
    return (
        f"{os.cpu_count()} cores, {model}, {int(memory) // 1024 // 1024} GB, "
        f"load average {load} (1/5/15 min)"
    )


def bench_mail(servers: list[str]) -> list[str]:
    """Measure the mail pipeline against smtplib on each server; return the table lines."""
    import bench_mail as mail

    from tests import postfix

    database = os.environ.get("BENCH_MAIL_DATABASE", "postgresql")
    count = int(os.environ.get("BENCH_MAIL_COUNT", "1000"))
    worker_counts = [int(n) for n in os.environ.get("BENCH_MAIL_WORKERS", "1").split(",") if n]
    lines = [
        f"{'mail server':<12} {'database':<10} {'workers':>7} {'messages':>8} {'pipeline s':>10} "
        f"{'CPU s':>6} {'smtplib s':>9} {'CPU s':>6} {'ratio':>6} {'target':>6}"
    ]
    for server in servers:
        if server == "postfix" and postfix.unavailable():
            lines.append(f"{'postfix':<12} Postfix absent: {postfix.unavailable()}")
            continue
        for workers in worker_counts:
            print(
                f"\n== mail: {count} video links, {server}, {database}, {workers} worker(s)",
                flush=True,
            )
            try:
                result = mail.measure(server, database, count, workers=workers)
            except (Exception, SystemExit) as error:  # one failure must not hide the others
                lines.append(f"{server:<12} FAILED: {error}")
                continue
            target = MAIL_TARGETS[server]
            mark = "ok" if result.ratio >= target else "MISSED"
            lines.append(
                f"{server:<12} {database:<10} {workers:>7} {result.sent:>8} "
                f"{result.pipeline_seconds:>10.2f} {result.pipeline_cpu:>6.2f} "
                f"{result.plain_seconds:>9.2f} {result.plain_cpu:>6.2f} "
                f"{result.ratio:>6.2f} {target:>6} {mark}"
            )
            print("   " + lines[-1], flush=True)
    return lines


def main() -> int:
    """Run every size, then the mail rows, and print the tables."""
    sizes = [s for s in os.environ.get("BENCH_SIZES", "real,large").split(",") if s]
    mail_servers = [s for s in os.environ.get("BENCH_MAIL", "aiosmtpd,postfix").split(",") if s]
    if sizes:
        common.ensure_wrk()
    print(
        f"machine: {machine()}; gunicorn {WORKERS} sync workers per app; wrk 2 threads, "
        f"{CONNECTIONS} connections, {SECONDS} s per measurement; 127.0.0.1 only"
    )
    rows: list[Row] = []
    if sizes:
        bare_env = common.app_environment("sqlite://")
        with common.gunicorn("bare:app", BARE_PORT, bare_env, workers=WORKERS) as bare:
            for size in sizes:
                bench_size(size, bare.base, rows)
    mail_lines = bench_mail(mail_servers) if mail_servers else []
    print(f"\nmachine: {machine()}")
    print("\n" + HEADER)
    for row in rows:
        print(format_row(row))
    print(
        "\nratio: route req/s ÷ bare Flask req/s measured just before it; p99 x: route p99 ÷ "
        "bare p99; SQL: statements per request, first request / later requests"
    )
    for line in verdicts(rows):
        print(line)
    if mail_lines:
        print("\nmail pipeline vs plain smtplib (same bytes, same server, same run):")
        for line in mail_lines:
            print(line)
    print(f"at the end: {machine()}")
    return 0


if __name__ == "__main__":
    # Stopped from outside: still stop the servers this run started (the with blocks).
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    sys.exit(main())
