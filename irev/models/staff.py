"""Staff accounts for the admin area."""

from __future__ import annotations

import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from irev.extensions import db
from irev.models.types import UTCDateTime, utcnow


def new_session_token() -> str:
    """Return a fresh random token naming one signed-in session."""
    return secrets.token_urlsafe(32)


class StaffUser(UserMixin, db.Model):
    """An IREV staff member who signs in to /admin."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(default=True)
    #: Flask-Login's id: changing it signs every session of this account out.
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token, unique=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    def get_id(self) -> str:
        return self.session_token

    def __repr__(self) -> str:
        return f"<StaffUser {self.email}>"
