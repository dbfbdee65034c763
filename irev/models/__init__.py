"""All models, importable from irev.models."""

from irev.models.attendance import AttendanceParticipant, Attestation
from irev.models.audit import AuditEvent
from irev.models.outbox import EmailStatus, OutboundEmail
from irev.models.people import (
    ACTIVE_STATES,
    MOVES,
    TRANSITIONS,
    Action,
    IllegalTransition,
    Person,
    Registration,
    RegistrationState,
)
from irev.models.programme import ApprovalMode, Meeting, MeetingMode, MeetingStatus, Programme
from irev.models.settings import SiteSetting
from irev.models.staff import StaffRole, StaffUser
from irev.models.types import UTCDateTime, utcnow

__all__ = [
    "ACTIVE_STATES",
    "MOVES",
    "TRANSITIONS",
    "Action",
    "ApprovalMode",
    "AttendanceParticipant",
    "Attestation",
    "AuditEvent",
    "EmailStatus",
    "IllegalTransition",
    "Meeting",
    "MeetingMode",
    "MeetingStatus",
    "OutboundEmail",
    "Person",
    "Programme",
    "Registration",
    "RegistrationState",
    "SiteSetting",
    "StaffRole",
    "StaffUser",
    "UTCDateTime",
    "utcnow",
]
