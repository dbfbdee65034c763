"""All models, importable from irev.models."""

from irev.models.accessibility import AccessibilityPlan
from irev.models.assistants import AssistantLink
from irev.models.attendance import AttendanceParticipant, Attestation
from irev.models.audit import AuditEvent
from irev.models.feedback import (
    QUESTION_STATE_LABELS,
    QuestionnaireReceipt,
    QuestionnaireResponse,
    QuestionState,
    SpeakerQuestion,
)
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
from irev.models.resources import MeetingResource, ResourceKind
from irev.models.settings import SiteSetting
from irev.models.staff import StaffRole, StaffUser
from irev.models.territories import Commune, Departement, Epci, Region
from irev.models.types import UTCDateTime, utcnow

__all__ = [
    "ACTIVE_STATES",
    "MOVES",
    "QUESTION_STATE_LABELS",
    "TRANSITIONS",
    "AccessibilityPlan",
    "Action",
    "ApprovalMode",
    "AssistantLink",
    "AttendanceParticipant",
    "Attestation",
    "AuditEvent",
    "Commune",
    "Departement",
    "EmailStatus",
    "Epci",
    "IllegalTransition",
    "Meeting",
    "MeetingMode",
    "MeetingResource",
    "MeetingStatus",
    "OutboundEmail",
    "Person",
    "Programme",
    "QuestionState",
    "QuestionnaireReceipt",
    "QuestionnaireResponse",
    "Region",
    "Registration",
    "RegistrationState",
    "ResourceKind",
    "SiteSetting",
    "SpeakerQuestion",
    "StaffRole",
    "StaffUser",
    "UTCDateTime",
    "utcnow",
]
