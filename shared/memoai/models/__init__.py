"""ORM models. Import from here: `from memoai.models import Evaluation`."""

from memoai.models.base import Base, new_id, utcnow
from memoai.models.tables import (
    ApiToken,
    AppSetting,
    AuthEvent,
    Batch,
    ChatMessage,
    ChatSession,
    ConfigVersion,
    Evaluation,
    EvaluationStatus,
    IdempotencyKey,
    Session,
    Submission,
    User,
    WebhookDelivery,
    WebhookEndpoint,
)

__all__ = [
    "ApiToken",
    "AppSetting",
    "AuthEvent",
    "Base",
    "Batch",
    "ChatMessage",
    "ChatSession",
    "ConfigVersion",
    "Evaluation",
    "EvaluationStatus",
    "IdempotencyKey",
    "Session",
    "Submission",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
    "new_id",
    "utcnow",
]
