"""Write the site's e-mails straight to wire bytes: the one MIME layout it sends, nothing else.

The standard library's MIME classes and generator (compat32) build and fold every header and
encode every body in pure Python: about a millisecond a message, more than the SMTP exchange
with a local server (see bench/bench_mail.py). Every message here has the same shape, so it is
written directly, with the C codecs of binascii for the bodies:

    multipart/mixed                       (only when there is an attachment)
      multipart/alternative
        text/plain; charset="utf-8"       quoted-printable
        text/html; charset="utf-8"        quoted-printable
      text/calendar; method=...           base64, as an attachment

Headers: CRLF line ends, non-ASCII text as RFC 2047 "B" encoded words of at most 76 characters
a line, and `header_value()` refuses any CR or LF in a value, so user text can never add a
header. The result parses back with the email package exactly like the old generator's output
(tests/test_mail.py reads what the SMTP server received).
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Sequence
from email.utils import encode_rfc2231, formataddr
from functools import lru_cache

import idna

CRLF = "\r\n"
#: UTF-8 bytes per encoded word: "=?utf-8?b?" + 52 base64 characters + "?=" is 64 characters,
#: so that even the first word, after "Subject: ", keeps its line within 76.
WORD_BYTES = 39


class HeaderError(ValueError):
    """A header value holds a line break: refused, whatever its origin."""


def header_value(value: str) -> str:
    """Return a header value as is, or raise HeaderError if it holds CR or LF."""
    if "\r" in value or "\n" in value:
        raise HeaderError("saut de ligne refusé dans un en-tête")
    return value


def encoded_words(text: str) -> list[str]:
    """Return text as RFC 2047 base64 encoded words, each holding whole characters."""
    data = text.encode("utf-8")
    words: list[str] = []
    start = 0
    while True:
        end = min(start + WORD_BYTES, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # never cut inside a character
            end -= 1
        words.append(_word(data[start:end]))
        if end >= len(data):
            return words
        start = end


def _word(data: bytes) -> str:
    """Return one encoded word."""
    return f"=?utf-8?b?{base64.b64encode(data).decode('ascii')}?="


def unstructured(name: str, value: str) -> str:
    """Return a complete header line for free text (Subject), folded, encoded if not ASCII."""
    header_value(value)
    if value.isascii():
        return f"{name}: {_fold_ascii(name, value)}"
    return f"{name}: " + f"{CRLF} ".join(encoded_words(value))


def _fold_ascii(name: str, value: str, width: int = 78) -> str:
    """Fold ASCII text at spaces so that lines keep within width where they can."""
    lines: list[str] = []
    line = ""
    room = width - len(name) - 2
    for word in value.split(" "):
        if line and len(line) + 1 + len(word) > room:
            lines.append(line)
            line, room = word, width - 1
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return f"{CRLF} ".join(lines)


@lru_cache(maxsize=256)
def wire_address(address: str) -> str:
    """Return an address as SMTP and headers carry it: an internationalised domain in ASCII.

    mairie-exämple.fr becomes xn--mairie-exmple-jfb.fr (IDNA 2008 with UTS 46 mapping, as
    email-validator checks it). A non-ASCII part before the @ would need SMTPUTF8, which the
    forms refuse: such an address raises HeaderError instead of leaving half-encoded.
    """
    address = header_value(address.strip())
    if not address or any(ch.isspace() for ch in address) or address.count("@") != 1:
        raise HeaderError("adresse e-mail invalide dans un en-tête")
    if address.isascii():
        return address
    local, domain = address.split("@")
    if not local.isascii():
        raise HeaderError("adresse e-mail non ASCII avant @ (SMTPUTF8 non pris en charge)")
    try:
        return f"{local}@{idna.encode(domain, uts46=True).decode('ascii')}"
    except idna.IDNAError as error:
        raise HeaderError("domaine internationalisé invalide dans une adresse") from error


def mailbox(name: str, address: str) -> str:
    """Return "Name <address>" for an address header; a non-ASCII name becomes encoded words."""
    address = wire_address(address)
    name = " ".join(str(name).split())  # user text: line breaks become spaces
    if not name:
        return address
    if name.isascii():
        return formataddr((name, address))  # quotes the name when it holds specials
    # The address goes on its own line.
    return f"{_fold_words(phrase_words(name))}{CRLF} <{address}>"


#: A word of a name that may stand as it is in a phrase (an RFC 5322 atom).
_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+")


def phrase_words(name: str) -> list[str]:
    """Return a non-ASCII display name as atoms and encoded words of 75 characters at most.

    Words that are plain atoms ("de", "La") stay as they are; each run of other words is
    encoded, its inner spaces inside the encoded text, because RFC 2047 ignores the space
    between two adjacent encoded words. A long run is cut after a space where it can, so
    that the words a reader joins back are whole words of the name.
    """
    items: list[str] = []
    run: list[str] = []
    for token in name.split(" "):
        if _ATOM.fullmatch(token):
            if run:
                items.extend(_encode_run(" ".join(run)))
                run = []
            items.append(token)
        else:
            run.append(token)
    if run:
        items.extend(_encode_run(" ".join(run)))
    return items


def _encode_run(text: str) -> list[str]:
    """Return text as encoded words of WORD_BYTES at most, cut after a space when possible."""
    data = text.encode("utf-8")
    words: list[str] = []
    start = 0
    while start < len(data):
        end = min(start + WORD_BYTES, len(data))
        if end < len(data):
            space = data.rfind(b" ", start, end)
            if space > start:
                end = space + 1  # the space ends this word: the next one starts a word
            while data[end] & 0xC0 == 0x80:  # never cut inside a character
                end -= 1
        words.append(_word(data[start:end]))
        start = end
    return words


def _fold_words(items: list[str], first_room: int = 72) -> str:
    """Join header words with spaces, folding (CRLF and a space) before a line passes 76."""
    lines: list[str] = []
    line = ""
    room = first_room
    for item in items:
        if line and len(line) + 1 + len(item) > room:
            lines.append(line)
            line, room = item, 75
        else:
            line = f"{line} {item}" if line else item
    lines.append(line)
    return f"{CRLF} ".join(lines)


def _quoted_printable(text: str) -> bytes:
    """Return UTF-8 text as quoted-printable with CRLF line ends (lines of 76 at most)."""
    crlf = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", CRLF)
    return binascii.b2a_qp(crlf.encode("utf-8"), quotetabs=False, istext=True)


def _boundary() -> str:
    """Return a fresh boundary (never found in quoted-printable or base64 bodies)."""
    return f"=_{secrets.token_hex(12)}"


@lru_cache(maxsize=64)
def attachment_part(
    filename: str, maintype: str, subtype: str, params: tuple[tuple[str, str], ...], data: bytes
) -> bytes:
    """Return the headers and base64 body of an attachment (the same for a whole batch)."""
    content_type = f"{maintype}/{subtype}" + "".join(
        f'; {key}="{header_value(value)}"' for key, value in params
    )
    header_value(filename)
    if filename.isascii() and '"' not in filename and "\\" not in filename:
        disposition = f'attachment; filename="{filename}"'
    else:
        disposition = f"attachment; filename*={encode_rfc2231(filename, 'utf-8')}"
    body = base64.encodebytes(data).replace(b"\n", b"\r\n")
    head = (
        f"Content-Type: {content_type}{CRLF}"
        f"Content-Transfer-Encoding: base64{CRLF}"
        f"Content-Disposition: {disposition}{CRLF}{CRLF}"
    )
    return head.encode("ascii") + body


def message_bytes(
    headers: Sequence[str],
    text: str,
    html: str,
    attachments: Sequence[bytes] = (),
) -> bytes:
    """Return the whole message: top headers (complete lines), both bodies, the attachments."""
    inner = _boundary()
    alternative = [
        f"--{inner}{CRLF}".encode(),
        f'Content-Type: text/plain; charset="utf-8"{CRLF}'
        f"Content-Transfer-Encoding: quoted-printable{CRLF}{CRLF}".encode(),
        _quoted_printable(text),
        f"{CRLF}--{inner}{CRLF}".encode(),
        f'Content-Type: text/html; charset="utf-8"{CRLF}'
        f"Content-Transfer-Encoding: quoted-printable{CRLF}{CRLF}".encode(),
        _quoted_printable(html),
        f"{CRLF}--{inner}--{CRLF}".encode(),
    ]
    alternative_type = f'multipart/alternative; boundary="{inner}"'
    top = CRLF.join(headers) + CRLF
    if not attachments:
        head = f"Content-Type: {alternative_type}{CRLF}MIME-Version: 1.0{CRLF}{top}{CRLF}"
        return head.encode("ascii") + b"".join(alternative)
    outer = _boundary()
    head = (
        f'Content-Type: multipart/mixed; boundary="{outer}"{CRLF}MIME-Version: 1.0{CRLF}'
        f"{top}{CRLF}--{outer}{CRLF}Content-Type: {alternative_type}{CRLF}{CRLF}"
    )
    parts = [head.encode("ascii"), *alternative]
    for attachment in attachments:
        parts += [f"{CRLF}--{outer}{CRLF}".encode(), attachment]
    parts.append(f"{CRLF}--{outer}--{CRLF}".encode())
    return b"".join(parts)
