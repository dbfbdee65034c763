"""What the legal notice (/mentions-legales) says about the publisher and the host.

Decisions:
- The publisher's postal address and the host's name, address and telephone are settings
  (irev.config), because they change with the deployment, not with a cycle; an administrator
  may set them from the staff area (« Réglages », irev.services.site_settings), which wins.
- A detail not set is never made up on the public page: it is left out. Staff see it listed
  « à compléter » on their dashboard, with the setting that fills it.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Setting, and what staff and the public page call it.
LEGAL_SETTINGS = (
    ("IREV_PUBLISHER_ADDRESS", "Adresse postale de l'éditeur"),
    ("IREV_HOST_NAME", "Nom de l'hébergeur"),
    ("IREV_HOST_ADDRESS", "Adresse de l'hébergeur"),
    ("IREV_HOST_PHONE", "Téléphone de l'hébergeur"),
)


@dataclass(frozen=True)
class LegalDetail:
    """One detail of the legal notice: its setting, its French label and its value ("" unset)."""

    setting: str
    label: str
    value: str

    @property
    def missing(self) -> bool:
        return not self.value


def legal_details() -> dict[str, LegalDetail]:
    """Return the legal notice's details by setting name, values stripped."""
    from irev.services.site_settings import values

    current = values()
    return {
        setting: LegalDetail(setting, label, current[setting]) for setting, label in LEGAL_SETTINGS
    }


def missing_details() -> list[LegalDetail]:
    """Return the details still to be set, in the order of the page."""
    return [detail for detail in legal_details().values() if detail.missing]
