"""Imports every table so Alembic and the tests see the whole schema."""

from __future__ import annotations

# Registers the flush hook that audits staff writes.
import portal.audit.service  # noqa: E402,F401
from portal.accounts.models import LoginAttempt, User
from portal.analytics.boards_models import KpiTarget
from portal.analytics.models import AnalyticsDirty, AnalyticsState, TicketStageFact
from portal.analytics.rollup_models import AnalyticsColumn, AnalyticsDaily
from portal.assets.models import Asset, Product, ProductModel
from portal.audit.models import AuditRecord
from portal.complaints.models import Complaint, ComplaintEvent, RevisitCall
from portal.consults.models import Consult, ConsultMessage
from portal.conversations.models import (
    AgentProfile,
    Conversation,
    ConversationAttachment,
    ConversationEvent,
    ConversationNote,
    Message,
)
from portal.costs.models import CostCase
from portal.customers.models import (
    ChannelIdentity,
    Customer,
    CustomerAddress,
    CustomerPhone,
    OneTimeCode,
)
from portal.database import Base
from portal.dispatch.models import DispatchVisit, EngineerPosition
from portal.fees.models import DistanceBand, Quote, QuoteLine, RateCard, RateLine, Receipt
from portal.field.models import WorkRecord
from portal.knowledge.models import (
    KbEntryReads,
    KbFeedback,
    KbRevision,
    KbSearchLog,
    KbUnanswered,
)
from portal.maintenance.models import MaintenanceOccurrence, MaintenancePlan, UsageReading
from portal.masterdata.models import (
    CertificateRule,
    EngineerCertificate,
    FaultCode,
    WarrantyTerm,
)
from portal.networks.models import Attendance, Engineer, EngineerSkill, ServiceNetwork
from portal.notifications.models import Notification
from portal.parts.models import (
    DefectiveReturn,
    Part,
    PartReservation,
    ShortageOrder,
    StockBalance,
    StockLocation,
    StockMovement,
)
from portal.privacy.models import ErasureRequest
from portal.settlement.models import (
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    SettlementRule,
    SettlementRun,
    Statement,
    StatementComment,
    StatementLine,
)
from portal.sla.models import BusinessCalendar, CalendarDay, SlaPolicy, SlaTimer
from portal.sop.models import StandardJob
from portal.staff.models import AgentTeam, RecoveryCode
from portal.tickets.models import (
    IdempotencyRecord,
    Ticket,
    TicketAttachment,
    TicketComment,
    TicketEvent,
    TicketSequence,
)
from portal.wechat.models import WeChatAccessToken, WeChatDeliveryFailure, WeChatFollower

__all__ = [
    "Complaint",
    "ComplaintEvent",
    "RevisitCall",
    "Consult",
    "ConsultMessage",
    "CostCase",
    "ErasureRequest",
    "CertificateRule",
    "EngineerCertificate",
    "FaultCode",
    "KbEntryReads",
    "KbFeedback",
    "KbRevision",
    "KbSearchLog",
    "KbUnanswered",
    "MaintenanceOccurrence",
    "MaintenancePlan",
    "StandardJob",
    "AgentTeam",
    "RecoveryCode",
    "UsageReading",
    "WarrantyTerm",
    "WorkRecord",
    "AnalyticsColumn",
    "AnalyticsDaily",
    "AnalyticsDirty",
    "AnalyticsState",
    "TicketStageFact",
    "KpiTarget",
    "DefectiveReturn",
    "DistanceBand",
    "LedgerAccount",
    "LedgerEntry",
    "LedgerTransaction",
    "Part",
    "PartReservation",
    "Quote",
    "QuoteLine",
    "RateCard",
    "RateLine",
    "Receipt",
    "SettlementRule",
    "SettlementRun",
    "ShortageOrder",
    "Statement",
    "StatementComment",
    "StatementLine",
    "StockBalance",
    "StockLocation",
    "StockMovement",
    "AgentProfile",
    "ConversationEvent",
    "ConversationNote",
    "Asset",
    "BusinessCalendar",
    "CalendarDay",
    "LoginAttempt",
    "AuditRecord",
    "Base",
    "ChannelIdentity",
    "CustomerAddress",
    "CustomerPhone",
    "DispatchVisit",
    "Engineer",
    "EngineerSkill",
    "EngineerPosition",
    "Notification",
    "OneTimeCode",
    "Product",
    "ProductModel",
    "ServiceNetwork",
    "Attendance",
    "SlaPolicy",
    "SlaTimer",
    "TicketAttachment",
    "TicketComment",
    "Conversation",
    "ConversationAttachment",
    "Customer",
    "IdempotencyRecord",
    "Message",
    "Ticket",
    "TicketEvent",
    "TicketSequence",
    "User",
    "WeChatAccessToken",
    "WeChatDeliveryFailure",
    "WeChatFollower",
]
