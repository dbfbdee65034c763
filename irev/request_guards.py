"""Input no page can use, refused in one place before any view runs.

- A NUL character anywhere in the path, the query string or a form: PostgreSQL refuses it in
  text, so it would reach the database only to turn into a 500. It gets a French 400 here. The
  forms that check every character of their fields themselves (and re-show the page with a
  message next to the field, keeping what was typed) are listed in FORMS_THAT_EXPLAIN: their
  field values are left to them, their keys and query strings are still checked here.
- Integers: an id in a path is a database integer (64 bits), so the `int` converter refuses
  more than that (the rule does not match: 404). Query and form integers are read with
  whole_number(), database_id() and page_number(), which refuse what the database cannot take.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, request
from werkzeug.routing import IntegerConverter

#: The largest id a PostgreSQL BIGINT (and SQLite's INTEGER) holds.
MAX_ID = 2**63 - 1
#: The last page a list offers: far past any real list, and page × size stays within 64 bits.
MAX_PAGE = 100_000

#: Endpoints whose forms refuse control characters field by field, with a French message.
FORMS_THAT_EXPLAIN = frozenset(
    {
        "registration.submit",
        "registration.check_field",
        "registration.details",
        "registration.add",
        "registration.questionnaire",
        "registration.speaker_question",
        "admin.sign_in",
        "admin.meeting_new",
        "admin.meeting_edit",
        "admin.meeting_cancel",
        "admin.programme",
        "admin.cycle_new",
        "admin.cycle_duplicate",
        "admin.person_edit",
        "admin.add_registration",
        "admin.reject",
        "admin.cancel_seat",
        "admin.invite",
        "admin.forgot_password",
        "admin.accept_invitation",
        "admin.reset_password",
    }
)

NUL_MESSAGE = (
    "La demande contient un caractère non autorisé (le caractère nul). Vérifiez l’adresse de "
    "la page ou le texte envoyé, puis réessayez."
)


class BoundedIntConverter(IntegerConverter):
    """The `int` path converter, refusing ids past 64 bits (the URL then matches no rule)."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = 0, max: int | None = MAX_ID):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max)


def whole_number(text: object, maximum: int = MAX_ID, minimum: int = 0) -> int:
    """Return text as an integer within [minimum, maximum]; raise ValueError otherwise.

    Only ASCII digits: str.isdigit() also accepts "²" or "١", which int() refuses or reads.
    """
    if not isinstance(text, str) or not text.isascii() or not text.isdigit() or len(text) > 19:
        raise ValueError("not a whole number")
    number = int(text)
    if not minimum <= number <= maximum:
        raise ValueError("out of range")
    return number


def database_id(text: object) -> int | None:
    """Return text as a row id, or None when it cannot be one."""
    try:
        return whole_number(text)
    except ValueError:
        return None


def database_ids(texts: Iterable[object]) -> list[int]:
    """Return the row ids among texts (the others are ignored)."""
    return [number for number in map(database_id, texts) if number is not None]


def page_number(text: object) -> int:
    """Return a page number in [1, MAX_PAGE]; raise ValueError otherwise (for args.get(type=))."""
    return whole_number(text, maximum=MAX_PAGE, minimum=1)


def _has_nul(values: Iterable[str]) -> bool:
    """Return True when one of the strings holds a NUL character."""
    return any("\x00" in value for value in values)


def refuse_nul():
    """Answer 400 when the path, the query string or a form holds a NUL character."""
    from irev.errors import render_error

    query = [text for pair in request.args.items(multi=True) for text in pair]
    suspect = _has_nul([request.path, *query])
    if not suspect and request.method in ("POST", "PUT", "PATCH"):
        form = request.form
        suspect = _has_nul(form.keys()) or (
            request.endpoint not in FORMS_THAT_EXPLAIN
            and _has_nul(value for _, value in form.items(multi=True))
        )
    if suspect:
        return render_error(400, NUL_MESSAGE)
    return None


def init_app(app: Flask) -> None:
    """Register the bounded `int` converter (before the blueprints) and the NUL guard (first)."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_nul)
