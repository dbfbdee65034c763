"""A real SMTP server for tests: aiosmtpd on a free loopback port, collecting what it receives.

Use the `smtp_server` fixture and point the app at it in the test module:

    @pytest.fixture
    def app_config(smtp_server):
        return smtp_server.app_config()
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


@dataclass
class Received:
    """One message as the server got it: envelope and parsed content."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage
    #: the name the client gave in EHLO (or HELO)
    ehlo_name: str = ""

    @property
    def to(self) -> str:
        return self.rcpt_tos[0]


class _Handler:
    """Collect messages; refuse the recipients listed in `refused` with the given code."""

    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        code = self.server.refused.get(address.lower())
        if code:
            return f"{code} Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode()
        parsed = message_from_bytes(raw, policy=policy.default)
        with self.server.lock:
            self.server.received.append(
                Received(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    raw,
                    parsed,  # type: ignore[arg-type]
                    session.host_name or "",
                )
            )
        return "250 Message accepted for delivery"


def free_port() -> int:
    """Return a TCP port free on the loopback interface right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class SmtpServer:
    """An aiosmtpd server that can be stopped and started again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[Received] = []
        #: address -> SMTP code returned at RCPT (e.g. 550, or 450 for a temporary refusal)
        self.refused: dict[str, int] = {}
        self.lock = threading.Lock()
        self.controller: Controller | None = None

    def start(self) -> None:
        """Listen (again) on the same port."""
        self.controller = Controller(_Handler(self), hostname=HOST, port=self.port)
        self.controller.start()

    def stop(self) -> None:
        """Stop listening: connections are refused until start()."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def app_config(self) -> dict:
        """Return the settings that make the app send here (and really send while TESTING)."""
        return {
            "MAIL_SERVER": HOST,
            "MAIL_PORT": self.port,
            "MAIL_USE_TLS": False,
            "MAIL_USE_SSL": False,
            "MAIL_SUPPRESS_SEND": False,
        }

    def to(self, address: str) -> list[Received]:
        """Return the messages received for one address."""
        return [item for item in self.received if address in item.rcpt_tos]

    def clear(self) -> None:
        """Forget what was received."""
        with self.lock:
            self.received.clear()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A running SMTP server on a free loopback port, stopped after the test."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()
