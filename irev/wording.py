"""French counts: « 1 place », « 2 places », « aucune inscription », never « place(s) »."""

from __future__ import annotations


def plural(n: int, singular: str, plural_form: str, zero: str | None = None) -> str:
    """Return n with the right French form: 0 and 1 take the singular, `zero` replaces 0.

    plural(1, "place", "places") is "1 place", plural(3, ...) "3 places", and
    plural(0, "inscription", "inscriptions", zero="aucune inscription") "aucune inscription".
    """
    if n == 0 and zero is not None:
        return zero
    return f"{n} {singular if abs(n) < 2 else plural_form}"
