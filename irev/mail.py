"""Transport only: deliver built messages over one SMTP connection per batch (Flask-Mail).

Without MAIL_SERVER (development), nothing leaves the machine: "sending" returns the raw bytes,
which the outbox keeps as the captured message that staff read at /admin/emails.
"""

from __future__ import annotations

import logging
import re
import smtplib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.utils import parseaddr
from typing import Protocol

from flask import current_app

from irev.mime import HeaderError, wire_address

log = logging.getLogger(__name__)

#: A line starting with a dot gets a second one (RFC 5321 "transparency"), as smtplib does.
_LEADING_DOT = re.compile(rb"(?m)^\.")


class DeliveryError(Exception):
    """A message could not be delivered."""


class MessageRefused(DeliveryError):
    """The server refused this one message (its recipient or its content); others may go on."""

    def __init__(self, code: int, detail: str) -> None:
        super().__init__(f"{code} {detail}".strip())
        self.code = code

    @property
    def permanent(self) -> bool:
        """Return True for a 5xx answer: trying again would get the same refusal."""
        return 500 <= self.code < 600


class ConnectionFailed(DeliveryError):
    """The server cannot be reached or dropped the connection: the whole batch waits."""


class Transport(Protocol):
    """What the worker needs: start one message's wire bytes, then read the server's verdict.

    `while_waiting` runs once the envelope's first command is on the wire and before its
    reply is read, and always before the message's final dot: the server works meanwhile,
    and whatever must be done before this message may leave (recording the previous one)
    is done by then. Should it raise, the connection is dropped and the message never ends.
    """

    captured: bool

    def start(
        self, recipient: str, raw: bytes, while_waiting: Callable[[], None] | None = None
    ) -> None: ...

    def finish(self) -> None: ...


def is_capture() -> bool:
    """Return True when mail is captured in the database instead of going over SMTP."""
    return not current_app.config.get("MAIL_SERVER") or bool(
        current_app.config.get("MAIL_SUPPRESS_SEND")
    )


class CaptureTransport:
    """Development transport: keeps the bytes, sends nothing."""

    captured = True

    def start(
        self, recipient: str, raw: bytes, while_waiting: Callable[[], None] | None = None
    ) -> None:
        """Send nothing (the caller stores the raw message); run while_waiting all the same."""
        if while_waiting is not None:
            while_waiting()

    def finish(self) -> None:
        """Do nothing: nothing is in flight."""


class SmtpTransport:
    """One open SMTP connection (Flask-Mail's), reused for every message of a batch."""

    captured = False

    def __init__(self, host: smtplib.SMTP, envelope_from: str) -> None:
        self.host = host
        self.envelope_from = envelope_from

    def start(
        self, recipient: str, raw: bytes, while_waiting: Callable[[], None] | None = None
    ) -> None:
        """Send one message up to its final dot; finish() reads the server's verdict.

        The same commands as smtplib's sendmail() (MAIL, RCPT, DATA, the dot-stuffed body), cut
        before the last reply: while the server takes the message in, the worker renders the
        next one instead of waiting. while_waiting runs while the server reads the envelope's
        first command (or, with PIPELINING, all three), before the dot.
        """
        host = self.host
        try:
            address = wire_address(recipient)
        except HeaderError as error:  # permanent: the same address is refused every time
            raise MessageRefused(553, str(error)) from error
        try:
            host.ehlo_or_helo_if_needed()
            options = [f"size={len(raw)}"] if host.does_esmtp and host.has_extn("size") else []
            pipelined = host.does_esmtp and host.has_extn("pipelining")
            if pipelined:
                extra = " " + " ".join(options) if options else ""
                host.putcmd("mail", f"FROM:{smtplib.quoteaddr(self.envelope_from)}{extra}")
                host.putcmd("rcpt", f"TO:{smtplib.quoteaddr(address)}")
                host.putcmd("data")
            else:
                extra = " " + " ".join(options) if options else ""
                host.putcmd("mail", f"from:{smtplib.quoteaddr(self.envelope_from)}{extra}")
        except (smtplib.SMTPException, OSError) as error:
            raise ConnectionFailed(_describe(error)) from error
        self._meanwhile(while_waiting)
        try:
            if pipelined:
                self._envelope_pipelined()
            else:
                self._envelope(address)
            body = _LEADING_DOT.sub(b"..", raw)
            if not body.endswith(b"\r\n"):
                body += b"\r\n"
            host.send(body + b".\r\n")
        except (smtplib.SMTPException, OSError) as error:
            raise ConnectionFailed(_describe(error)) from error

    def _meanwhile(self, while_waiting: Callable[[], None] | None) -> None:
        """Run while_waiting; if it fails, drop the connection: the message must not leave.

        Closing without the final dot makes the server throw the unfinished message away
        (RFC 5321, 4.1.1.4); an RSET could not be sent while DATA may already be accepted.
        """
        if while_waiting is None:
            return
        try:
            while_waiting()
        except BaseException:
            self.host.close()
            raise

    def _envelope(self, address: str) -> None:
        """Read MAIL's reply, then send RCPT and DATA, each after the previous reply."""
        host = self.host
        code, detail = host.getreply()
        if code != 250:
            self._reset(code)
            # Every message of the batch would meet the same refusal: the batch waits.
            raise ConnectionFailed(f"expéditeur refusé : {code}")
        code, detail = host.rcpt(address)
        if code not in (250, 251):
            self._reset(code)
            raise MessageRefused(code, _text(detail))
        host.putcmd("data")
        code, detail = host.getreply()
        if code != 354:
            self._reset(code)
            raise MessageRefused(code, _text(detail))

    def _envelope_pipelined(self) -> None:
        """Read the replies to MAIL, RCPT and DATA, sent at once (RFC 2920).

        Offered by Postfix: two round trips fewer per message. The replies mean what they mean
        one by one; should a server accept DATA after refusing the envelope, the empty message
        is ended and thrown away (RSET) before the refusal is reported.
        """
        host = self.host
        mail_code, _ = host.getreply()
        rcpt_code, rcpt_detail = host.getreply()
        data_code, data_detail = host.getreply()
        refused = mail_code != 250 or rcpt_code not in (250, 251)
        if data_code == 354 and not refused:
            return
        if data_code == 354:
            host.send(b".\r\n")
            data_code, _ = host.getreply()
        if mail_code != 250:
            self._reset(mail_code)
            raise ConnectionFailed(f"expéditeur refusé : {mail_code}")
        if rcpt_code not in (250, 251):
            self._reset(rcpt_code)
            raise MessageRefused(rcpt_code, _text(rcpt_detail))
        self._reset(data_code)
        raise MessageRefused(data_code, _text(data_detail))

    def finish(self) -> None:
        """Read the server's answer to the message start() sent; raise if it refused it."""
        try:
            code, detail = self.host.getreply()
        except (smtplib.SMTPException, OSError) as error:
            raise ConnectionFailed(_describe(error)) from error
        if code != 250:
            self._reset(code)
            raise MessageRefused(code, _text(detail))

    def _reset(self, code: int) -> None:
        """Leave the transaction after a refusal, as sendmail() does (421: the server left)."""
        try:
            if code == 421:
                self.host.close()
            else:
                self.host.rset()
        except (smtplib.SMTPException, OSError):
            self.host.close()


def _text(detail: bytes | str) -> str:
    """Return a server answer as text."""
    return detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)


def _describe(error: BaseException) -> str:
    """Return a short description of a connection problem (no credentials in it)."""
    return f"{type(error).__name__}: {error}".strip()[:500]


def envelope_sender() -> str:
    """Return the bare address of MAIL_DEFAULT_SENDER, for MAIL FROM."""
    return parseaddr(str(current_app.config["MAIL_DEFAULT_SENDER"]))[1]


def ehlo_name() -> str | None:
    """Return the name given in EHLO: IREV_MAIL_EHLO_NAME, else None (smtplib's machine name).

    smtplib sends the machine's fully qualified name, or "[127.0.0.1]" when that name has no
    dot, and some relays refuse a bare address: production names the server here.
    """
    return str(current_app.config["IREV_MAIL_EHLO_NAME"] or "").strip() or None


def _open_host() -> smtplib.SMTP:
    """Connect to the configured server (Flask-Mail's settings), with STARTTLS and login.

    What Flask-Mail's Connection does, plus the EHLO name and the timeout from the start (a
    server that stops answering must not hang the worker).
    """
    state = current_app.extensions["mail"]  # Flask-Mail's settings, read at init_app
    timeout = float(current_app.config["MAIL_TIMEOUT"])
    smtp_class = smtplib.SMTP_SSL if state.use_ssl else smtplib.SMTP
    host = smtp_class(state.server, state.port, local_hostname=ehlo_name(), timeout=timeout)
    try:
        if state.use_tls:
            host.starttls()
        if state.username and state.password:
            host.login(state.username, state.password)
    except BaseException:
        host.close()
        raise
    return host


@contextmanager
def connection() -> Iterator[Transport]:
    """Open one connection for a batch (or the capture); raise ConnectionFailed if it cannot."""
    if is_capture():
        yield CaptureTransport()
        return
    try:
        host = _open_host()
    except (smtplib.SMTPException, OSError) as error:
        raise ConnectionFailed(_describe(error)) from error
    try:
        yield SmtpTransport(host, envelope_sender())
    finally:
        try:
            host.quit()
        except (smtplib.SMTPException, OSError):
            host.close()
