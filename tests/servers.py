"""Real servers for tests: gunicorn on a free loopback port, started, awaited and stopped.

Used by the browser tests' `live_server`, the concurrency test and the scale-out test. Each
caller keeps its own specifics (workers, threads, extra environment) as arguments.

The site is served as production serves it: over TLS (a certificate authority and a server
certificate for 127.0.0.1 and localhost, made for the run by `trustme`), outside debug and test
mode, so with Secure cookies, HSTS, an https:// base URL, Flask-WTF's strict HTTPS referrer
check and a real SMTP server for the mail worker. Clients verify the certificate against the
run's authority (`Tls.client_context()`).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Tls:
    """A certificate authority made for this run, and the server certificate it signed."""

    ca_path: Path
    cert_path: Path
    key_path: Path
    #: base64 SHA-256 of the server key (Chromium's --ignore-certificate-errors-spki-list).
    spki_sha256: str

    def client_context(self) -> ssl.SSLContext:
        """Return a client context that trusts this run's authority only (and checks names)."""
        return ssl.create_default_context(cafile=str(self.ca_path))

    def gunicorn_options(self) -> list[str]:
        """Return gunicorn's options serving this certificate."""
        return ["--certfile", str(self.cert_path), "--keyfile", str(self.key_path)]


def make_tls(directory: Path) -> Tls:
    """Make a certificate authority and a server certificate for 127.0.0.1 and localhost."""
    import trustme
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    ca = trustme.CA(organization_name="IREV tests")
    server = ca.issue_cert("127.0.0.1", "localhost", "::1")
    directory.mkdir(parents=True, exist_ok=True)
    tls = Tls(
        ca_path=directory / "ca.pem",
        cert_path=directory / "server.pem",
        key_path=directory / "server.key",
        spki_sha256=base64.b64encode(
            hashlib.sha256(
                x509.load_pem_x509_certificate(server.cert_chain_pems[0].bytes())
                .public_key()
                .public_bytes(
                    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
                )
            ).digest()
        ).decode(),
    )
    ca.cert_pem.write_to_path(str(tls.ca_path))
    tls.cert_path.write_bytes(b"".join(pem.bytes() for pem in server.cert_chain_pems))
    server.private_key_pem.write_to_path(str(tls.key_path))
    return tls


def origin(port: int) -> str:
    """Return the https:// origin of a server on 127.0.0.1:port."""
    return f"https://127.0.0.1:{port}"


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
    mail_port: int,
    secret_key: str | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """Return the production environment of a served app: this one without FLASK_*, plus the
    settings docs/deploy.md asks for (secret key, database, https:// base URL, SMTP server).

    No FLASK_TESTING and no FLASK_DEBUG: the app checks its settings as in production, and
    turns on HSTS, Secure cookies and https URLs itself. `mail_port` is a real SMTP server on
    127.0.0.1 (tests/smtp_server.py), where the mail worker delivers.
    """
    if not base_url.startswith("https://"):
        raise ValueError(f"production serves https:// only, not {base_url}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    env.update(
        FLASK_SECRET_KEY=secret_key or secrets.token_urlsafe(32),
        FLASK_SQLALCHEMY_DATABASE_URI=database_url,
        FLASK_IREV_BASE_URL=base_url,
        FLASK_MAIL_SERVER="127.0.0.1",
        FLASK_MAIL_PORT=str(mail_port),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra or {})
    return env


def gunicorn_command(
    port: int,
    *,
    tls: Tls,
    workers: int | None = 2,
    threads: int | None = None,
    config: str | None = None,
    graceful_timeout: int | None = 5,
    access_log: bool = False,
) -> list[str]:
    """Return the command serving `wsgi:app` over TLS on 127.0.0.1:port (None: the config's
    value)."""
    command = [sys.executable, "-m", "gunicorn"]
    if config:
        command += ["-c", config]
    command += ["--bind", f"127.0.0.1:{port}", *tls.gunicorn_options()]
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
    url: str,
    process: subprocess.Popen,
    log_path: Path,
    tls: Tls,
    timeout: float = STARTUP_TIMEOUT,
) -> None:
    """Poll /healthz until it answers 200 over verified TLS; fail with the server's log if it
    never does."""
    context = tls.client_context()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2, context=context) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, ssl.SSLError):
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
    tls: Tls,
    startup_timeout: float = STARTUP_TIMEOUT,
    stop_timeout: float = 10,
    new_session: bool = False,
    **options,
) -> Iterator[subprocess.Popen]:
    """Serve the app over TLS with gunicorn (options: see `gunicorn_command`) until the block
    ends."""
    command = gunicorn_command(port, tls=tls, **options)
    process = start(command, env, log_path, new_session=new_session)
    try:
        wait_until_healthy(origin(port), process, log_path, tls, startup_timeout)
        yield process
    finally:
        stop(process, stop_timeout)


def mail_worker_command(interval: float = 0.2) -> list[str]:
    """Return the command of production's mail worker (`flask mail worker`), passing often."""
    return [
        sys.executable,
        "-m",
        "flask",
        "--app",
        "wsgi",
        "mail",
        "worker",
        "--interval",
        str(interval),
    ]


@contextlib.contextmanager
def mail_worker(
    env: dict[str, str], log_path: Path, *, interval: float = 0.2, new_session: bool = False
) -> Iterator[subprocess.Popen]:
    """Run the mail worker with the server's environment until the block ends (SIGTERM: it
    finishes the message in hand, then leaves)."""
    process = start(mail_worker_command(interval), env, log_path, new_session=new_session)
    try:
        yield process
    finally:
        stop(process, 30)
