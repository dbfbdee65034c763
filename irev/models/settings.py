"""Settings an administrator sets from the staff area (irev.services.site_settings)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from irev.extensions import db
from irev.models.types import UTCDateTime, utcnow


class SiteSetting(db.Model):
    """One setting saved from the staff area; it wins over the configured value."""

    __tablename__ = "site_setting"

    #: The setting's name, as in irev.config ("IREV_HOST_NAME").
    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<SiteSetting {self.name}>"
