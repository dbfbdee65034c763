"""French typography, applied in one place to everything a person reads.

Decisions:
- One function, `french()`, for plain text; `french_html()` applies it to the text between
  tags only. Pages get it once per HTML response (irev.templating, after the view), e-mails
  once per rendered part (irev.notifications.render): templates never type a no-break space.
- A narrow no-break space (U+202F) before « ; : ! ? » and inside « guillemets »; a no-break
  space (U+00A0) between a number and the word after it (« 17 h », « 100 places »); the
  apostrophe ’ between letters.
- Never touched: tag names and attributes (URLs, ids, values), the content of <script>,
  <style>, <pre>, <code> and <textarea> (what a person typed comes back exactly as typed),
  and within text, anything that looks like a URL or an e-mail address.
- Idempotent: applying it twice gives the same text (a page may embed an e-mail preview).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

NNBSP = "\u202f"  # narrow no-break space
NBSP = "\u00a0"

#: Spans of text left exactly as they are: URLs, e-mail addresses, and stray "scheme:" forms.
_PROTECTED = re.compile(r"(?:[a-z][a-z0-9+.-]*://|mailto:|www\.)\S+|\S+@\S+|&#?\w+;", re.IGNORECASE)

_BEFORE_PUNCT = re.compile(r"[ \t\u00a0\u202f]+([;:!?])")
_PUNCT_NO_SPACE = re.compile(r"(?<=[\w»)])([;!?])(?=\s|$)")
_OPEN_QUOTE = re.compile(r"«[ \t\u00a0\u202f]*")
_CLOSE_QUOTE = re.compile(r"[ \t\u00a0\u202f]*»")
#: A number and the word it counts stay together; not a number and a following preposition.
_NUMBER_WORD = re.compile(
    r"(?<=\d) (?=%|€|(?!(?:à|au|aux|de|des|du|et|ou|en|le|la|les|pour|par|sur)\b)[^\W\d_])"
)
#: « 13 h 01 » stays on one line too.
_HOUR_MINUTES = re.compile(r"(?<=\d[ \u00a0]h) (?=\d\d\b)")
_APOSTROPHE = re.compile(r"(?<=[^\W\d_])'(?=[^\W\d_])")
#: Every rule above needs one of these characters: text without any is left as it is, unread
#: by the rules (most of a page's text runs: labels, names, sentences without a colon).
_TRIGGER = re.compile(r"[;:!?«»'\d]")


def _plain(text: str) -> str:
    """Apply the rules to text that holds no URL or address."""
    text = _APOSTROPHE.sub("’", text)
    text = _BEFORE_PUNCT.sub(NNBSP + r"\1", text)
    text = _PUNCT_NO_SPACE.sub(NNBSP + r"\1", text)
    text = _OPEN_QUOTE.sub("«" + NNBSP, text)
    text = _CLOSE_QUOTE.sub(NNBSP + "»", text)
    text = _NUMBER_WORD.sub(NBSP, text)
    return _HOUR_MINUTES.sub(NBSP, text)


#: Lines already typeset during a batch of e-mails (see memoized()).
_memo: ContextVar[dict[str, str] | None] = ContextVar("irev_typography_memo", default=None)


@contextmanager
def memoized() -> Iterator[None]:
    """Remember typeset lines for the block: a batch of e-mails repeats most of its lines.

    The rules never reach across a line end, so each line is typeset once per batch. The memo
    lives only as long as the block (it holds recipients' names: never kept past the batch).
    """
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def french(text: str) -> str:
    """Return text with French typography (spaces, apostrophes); URLs and addresses kept."""
    if not text or not _TRIGGER.search(text):
        return text
    memo = _memo.get()
    if memo is None:
        return _french(text)
    out = []
    for line in text.splitlines(keepends=True):
        done = memo.get(line)
        if done is None:
            done = memo[line] = _french(line)
        out.append(done)
    return "".join(out)


def _french(text: str) -> str:
    """Apply the rules to text, leaving URLs, addresses and entities as they are."""
    out = []
    last = 0
    for match in _PROTECTED.finditer(text):
        out.append(_plain(text[last : match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(_plain(text[last:]))
    return "".join(out)


_TAG = re.compile(r"<!--.*?-->|<[^>]*>", re.DOTALL)
_RAW_ELEMENTS = ("script", "style", "pre", "code", "textarea")
_RAW_OPEN = re.compile(r"<(script|style|pre|code|textarea)\b", re.IGNORECASE)


def french_html(html: str) -> str:
    """Return HTML with french() applied to its text only (never to tags or raw elements)."""
    out = []
    position = 0
    raw_until: str | None = None
    for match in _TAG.finditer(html):
        text = html[position : match.start()]
        out.append(text if raw_until else _html_text(text))
        tag = match.group(0)
        out.append(tag)
        position = match.end()
        if raw_until:
            if tag.lower().startswith(f"</{raw_until}"):
                raw_until = None
            continue
        opened = _RAW_OPEN.match(tag)
        if opened and not tag.endswith("/>"):
            raw_until = opened.group(1).lower()
    rest = html[position:]
    out.append(rest if raw_until else _html_text(rest))
    return "".join(out)


def _html_text(text: str) -> str:
    """Apply french() to escaped HTML text: an escaped apostrophe counts as one."""
    if not text or text.isspace() or not (_TRIGGER.search(text) or "&#" in text):
        return text
    return french(text.replace("&#39;", "'").replace("&#x27;", "'"))
