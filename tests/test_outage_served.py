"""A real PostgreSQL outage under gunicorn, in production mode over TLS: the French 503 page
for every visitor, staff signed in included, logs without tokens or personal data, recovery by
itself.

gunicorn reaches PostgreSQL through a TCP relay this test owns. Cutting the relay closes every
open connection (PostgreSQL seems to vanish mid-session) and refuses new ones, as a stopped
server or a network failure does; restoring it lets the pool reconnect, with no restart.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from irev import create_app
from irev.extensions import db
from irev.models import Person, Registration
from irev.notifications import cancel_url, manage_url
from tests import servers
from tests.admin_helpers import PASSWORD, create_staff
from tests.conftest import TEST_CONFIG
from tests.http_client import Client, csrf_token
from tests.registration_support import confirm_path, form_data, path_of, season

pytestmark = pytest.mark.postgresql

SECRET = "outage-" + "s" * 40
EMAIL = form_data()["email"]
NAMES = ("Camille", "Durand", "Roubaix")
#: One proxy hop, as nginx adds it in front of gunicorn (FLASK_IREV_PROXY_HOPS=1).
VISITOR_ADDRESS = "203.0.113.7"


class Relay:
    """A TCP relay from a loopback port to PostgreSQL, which the test can cut and restore."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = servers.free_port()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        """Listen again: new connections reach PostgreSQL."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.2)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Refuse new connections and break every open one."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            for one in self._sockets:
                _close(one)
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        """Relay each accepted connection until the listener is closed."""
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy bytes one way until either side closes."""
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        _close(source)
        _close(sink)


def _close(one: socket.socket) -> None:
    """Shut a socket down both ways and close it, whatever state it is in."""
    with contextlib.suppress(OSError):
        one.shutdown(socket.SHUT_RDWR)
    one.close()


@pytest.fixture
def served(db_url: str, tmp_path: Path) -> Iterator[tuple[int, Relay, Path, dict]]:
    """Seed the database, serve it with gunicorn over TLS through the relay."""
    tls = servers.make_tls(tmp_path / "tls")
    port = servers.free_port()
    base_url = servers.origin(port)
    app = create_app(
        {
            **TEST_CONFIG,
            "SECRET_KEY": SECRET,
            "IREV_BASE_URL": base_url,
            "SQLALCHEMY_DATABASE_URI": db_url,
        }
    )
    with app.app_context():
        db.create_all()
        meetings = season()
        create_staff()
        slug = meetings["open"].slug
        db.session.remove()
        db.engine.dispose()
    parts = urlsplit(db_url)
    pg_port = parts.port or 5432
    relay = Relay((parts.hostname or "127.0.0.1", pg_port))
    relayed = db_url.replace(parts.netloc, parts.netloc.replace(f":{pg_port}", f":{relay.port}"))
    assert f":{relay.port}" in relayed
    log = tmp_path / "gunicorn.log"
    env = servers.server_env(
        relayed,
        base_url,
        mail_port=servers.free_port(),  # nothing is sent: the web never talks SMTP
        secret_key=SECRET,
        extra={"FLASK_IREV_PROXY_HOPS": "1", "FLASK_IREV_CACHE_SECONDS": "0"},
    )
    config = str(servers.ROOT / "deploy" / "gunicorn.conf.py")
    try:
        with servers.gunicorn(port, env, log, tls=tls, workers=1, config=config):
            yield port, relay, log, {"app": app, "slug": slug, "tls": tls.client_context()}
    finally:
        relay.cut()


def test_outage_under_gunicorn_gives_the_french_503_and_clean_logs(served) -> None:
    port, relay, log, seeded = served
    app, slug, tls = seeded["app"], seeded["slug"], seeded["tls"]
    anonymous = Client(port, VISITOR_ADDRESS, tls=tls)
    assert anonymous.post_form("/inscription", form_data(slug))[0] == 303
    staff = Client(port, VISITOR_ADDRESS, tls=tls)
    signed = staff.post_form("/admin/connexion", {"email": "equipe@irev.fr", "password": PASSWORD})
    assert signed[0] == 303
    with app.app_context():
        person = db.session.scalar(db.select(Person).where(Person.email == EMAIL))
        registration = db.session.scalar(
            db.select(Registration).where(Registration.person_id == person.id)
        )
        confirm = confirm_path()
        manage, cancel = path_of(manage_url(person)), path_of(cancel_url(registration))
        meeting_id, person_id = registration.meeting_id, person.id
        db.session.remove()
        db.engine.dispose()
    tokens = [path.rsplit("/", 1)[-1] for path in (confirm, manage, cancel)]
    public = ["/", f"/seances/{slug}", "/calendrier.ics", "/inscription", confirm, manage, cancel]
    staff_pages = [
        "/admin/",
        f"/admin/seances/{meeting_id}/inscriptions",
        f"/admin/personnes/{person_id}",
        "/admin/journal",
    ]
    cookieless = Client(port, VISITOR_ADDRESS, tls=tls)
    # The forms' tokens, taken before the outage as an open browser tab holds them.
    forms = {}
    for path in ("/inscription", confirm, f"{manage}/coordonnees"):
        forms[path] = csrf_token(anonymous.exchange("GET", path)[2])
        assert forms[path], path

    relay.cut()
    answers = []
    for path in public:
        answers += [(path, cookieless.exchange("GET", path)), (path, staff.exchange("GET", path))]
    for path in staff_pages:
        answers.append((path, staff.exchange("GET", path)))
    details = {"first_name": "Camillou", "last_name": "Durand", "organisation": "Ville de Roubaix"}
    posts = {"/inscription": form_data(slug), confirm: {}, f"{manage}/coordonnees": details}
    for path, data in posts.items():
        sent = anonymous.exchange("POST", path, {**data, "csrf_token": forms[path]})
        answers.append((f"POST {path}", sent))
    for what, (status, headers, body) in answers:
        assert status == 503, (what, status, body[:300])
        assert headers.get("Retry-After", "").isdigit(), what
        assert "Service momentanément indisponible" in body, what
        assert '<html lang="fr">' in body and "Internal Server Error" not in body, what

    relay.restore()
    # Back by itself: the pool drops the dead connections and opens new ones.
    assert cookieless.exchange("GET", "/")[0] == 200
    assert anonymous.exchange("GET", manage)[0] == 200
    assert staff.exchange("GET", f"/admin/seances/{meeting_id}/inscriptions")[0] == 200

    text = log.read_text(encoding="utf-8", errors="replace")
    assert "database unavailable on GET /inscription/gerer/<jeton>" in text
    for token in tokens:
        assert token not in text
        assert token.split(".")[-1] not in text
    assert EMAIL not in text and "@" not in text.replace("<adresse>", "")
    for name in (*NAMES, "Camillou"):
        assert name not in text
    assert "Traceback" not in text  # an outage is one line per request, not a stack
