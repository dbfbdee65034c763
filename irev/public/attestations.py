"""The public page that confirms an attestation de participation from its code."""

from __future__ import annotations

from flask import make_response, render_template, request

from irev.public import bp
from irev.services import attestations


@bp.get("/attestations/verifier")
def verify_attestation():
    """Check a verification code (a plain GET form): show what the attestation states."""
    raw = request.args.get("code", "")
    typed = " ".join(raw.split())[:40]
    found = error = None
    status = 200
    if "code" in request.args:
        if not attestations.normalise_code(raw):
            error = (
                "Saisissez le code de 12 caractères imprimé sur l’attestation, "
                "par exemple ABCD-EFGH-JKMN."
            )
            status = 422
        else:
            found = attestations.find(raw)
            if found is None:
                error = "Aucune attestation ne correspond à ce code. Vérifiez chaque caractère."
                status = 404
    page = render_template("public/verify_attestation.html", typed=typed, found=found, error=error)
    response = make_response(page, status)
    # The code is in the address: do not pass it on to another site.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
