"""Staff accounts for the admin area."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from irev.extensions import db
from irev.models.programme import _enum
from irev.models.types import UTCDateTime, utcnow


def new_session_token() -> str:
    """Return a fresh random token naming one signed-in session."""
    return secrets.token_urlsafe(32)


class StaffRole(enum.StrEnum):
    """What a staff member may do: administration includes everything moderation may."""

    #: Accounts, cycles, settings, and all of moderation.
    ADMIN = "admin"
    #: Registrations, meetings' day-to-day work, e-mails and the journal.
    MODERATION = "moderation"

    @property
    def label(self) -> str:
        """Return the French name of the role."""
        return ROLE_LABELS[self]


ROLE_LABELS = {StaffRole.ADMIN: "Administration", StaffRole.MODERATION: "Modération"}


class StaffUser(UserMixin, db.Model):
    """An IREV staff member who signs in to /admin."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120), default="")
    #: Empty while an invitation waits: no password signs in until one is set from the link.
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[StaffRole] = mapped_column(
        _enum(StaffRole, "staff_role"), default=StaffRole.ADMIN, server_default="admin"
    )
    active: Mapped[bool] = mapped_column(default=True)
    #: Flask-Login's id: changing it signs every session of this account out.
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token, unique=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: When the account's owner last chose a password; None while the invitation is pending.
    password_set_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Raised whenever an e-mailed link is used or the account changes: older links do nothing.
    link_version: Mapped[int] = mapped_column(default=1, server_default="1")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    @property
    def is_admin(self) -> bool:
        """Return True for an account of the administration role."""
        return self.role is StaffRole.ADMIN

    @property
    def invitation_pending(self) -> bool:
        """Return True while the invited person has not chosen a password yet."""
        return not self.password_hash

    def get_id(self) -> str:
        return self.session_token

    def __repr__(self) -> str:
        return f"<StaffUser {self.email}>"
