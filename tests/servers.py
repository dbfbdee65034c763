"""Real servers for tests: gunicorn on a free loopback port, started, awaited and stopped.

Used by the browser tests' `live_server`, the concurrency test and the scale-out test. Each
caller keeps its own specifics (workers, threads, extra environment) as arguments.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Seconds gunicorn may take to answer /healthz before the caller gives up.
STARTUP_TIMEOUT = 30


def _gunicorn_has_control_socket() -> bool:
    """Return True for gunicorn versions that open a control socket by default."""
    from gunicorn import config

    return any(setting.name == "control_socket_disable" for setting in config.KNOWN_SETTINGS)


#: One fixed control socket path per user would clash between servers running at once.
NO_CONTROL_SOCKET = ["--no-control-socket"] if _gunicorn_has_control_socket() else []


def free_port(preferred: Iterable[int] = ()) -> int:
    """Return a TCP port free on loopback right now, from `preferred` when one is free there."""
    for port in preferred:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(
    database_url: str,
    base_url: str,
    *,
    testing: bool = True,
    secret_key: str | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """Return the environment of a served app: this one without FLASK_*, plus its settings.

    With `testing`, the app runs with TESTING, because production refuses plain http and a
    missing SMTP server; but exceptions are not propagated, so gunicorn serves the French 500
    page as in production. CSRF and rate limits stay on (TEST_CONFIG applies in-process only).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    if testing:
        env.update(FLASK_TESTING="true", FLASK_PROPAGATE_EXCEPTIONS="false")
    env.update(
        FLASK_SECRET_KEY=secret_key or secrets.token_urlsafe(32),
        FLASK_SQLALCHEMY_DATABASE_URI=database_url,
        FLASK_IREV_BASE_URL=base_url,
        PYTHONUNBUFFERED="1",
    )
    env.update(extra or {})
    return env


def gunicorn_command(
    port: int,
    *,
    workers: int | None = 2,
    threads: int | None = None,
    config: str | None = None,
    graceful_timeout: int | None = 5,
    access_log: bool = False,
) -> list[str]:
    """Return the command serving `wsgi:app` on 127.0.0.1:port (None: the config's value)."""
    command = [sys.executable, "-m", "gunicorn"]
    if config:
        command += ["-c", config]
    command += ["--bind", f"127.0.0.1:{port}"]
    if workers is not None:
        command += ["--workers", str(workers)]
    if threads is not None:
        command += ["--threads", str(threads)]
    if graceful_timeout is not None:
        command += ["--graceful-timeout", str(graceful_timeout)]
    command += NO_CONTROL_SOCKET
    if access_log:
        command += ["--access-logfile", "-"]
    return [*command, "--error-logfile", "-", "wsgi:app"]


def start(
    command: list[str], env: dict[str, str], log_path: Path, *, new_session: bool = False
) -> subprocess.Popen:
    """Start one process from the project's root, its output appended to a log file."""
    with log_path.open("ab") as log_file:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=new_session,
        )


def stop(process: subprocess.Popen, timeout: float = 10) -> None:
    """Stop a process this test started, by its own id: SIGTERM, wait, then SIGKILL."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def wait_until_healthy(
    url: str, process: subprocess.Popen, log_path: Path, timeout: float = STARTUP_TIMEOUT
) -> None:
    """Poll /healthz until it answers 200; fail with the server's log if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    stop(process)
    log = log_path.read_text(encoding="utf-8", errors="replace")
    pytest.fail(f"gunicorn did not answer {url}/healthz (exit code {process.poll()}):\n{log}")


@contextlib.contextmanager
def gunicorn(
    port: int,
    env: dict[str, str],
    log_path: Path,
    *,
    startup_timeout: float = STARTUP_TIMEOUT,
    stop_timeout: float = 10,
    new_session: bool = False,
    **options,
) -> Iterator[subprocess.Popen]:
    """Serve the app with gunicorn (options: see `gunicorn_command`) until the block ends."""
    process = start(gunicorn_command(port, **options), env, log_path, new_session=new_session)
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", process, log_path, startup_timeout)
        yield process
    finally:
        stop(process, stop_timeout)
