"""All ORM models on one metadata.

One module on purpose: one metadata, and the relationships between the
tables read best side by side (Alembic autogenerate compares against it).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from memoai.models.base import Base, CreatedMixin, IdMixin, JsonType, utcnow


class EvaluationStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        return self in (EvaluationStatus.COMPLETED, EvaluationStatus.FAILED)


class UserRole(StrEnum):
    USER = "user"  # a writer
    COACH = "coach"  # may coach cohorts (assignments, reviews, analytics)
    ADMIN = "admin"  # everything, including cohorts and accounts


USER_ROLES = frozenset(r.value for r in UserRole)


class User(IdMixin, CreatedMixin, Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # The one source of truth for what the account may do; `is_admin` derives from it.
    role: Mapped[str] = mapped_column(
        String(16), default=UserRole.USER.value, server_default=UserRole.USER.value
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_login_count: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @hybrid_property
    def is_admin(self) -> bool:
        return self.role == UserRole.ADMIN.value

    @is_admin.inplace.setter
    def _set_is_admin(self, value: bool) -> None:
        # Kept for callers of the boolean API: promoting makes an admin, demoting
        # an admin makes a plain user, and demoting a coach leaves the coach.
        if value:
            self.role = UserRole.ADMIN.value
        elif self.role in (None, UserRole.ADMIN.value):
            self.role = UserRole.USER.value

    @is_admin.inplace.expression
    @classmethod
    def _is_admin_expression(cls) -> ColumnElement[bool]:
        return cls.role == UserRole.ADMIN.value

    @validates("role")
    def _check_role(self, _key: str, value: str) -> str:
        if value not in USER_ROLES:
            raise ValueError(f"unknown role {value!r}")
        return value


# Usernames are unique ignoring case, so "Admin" can never shadow "admin".
Index("uq_users_username_lower", func.lower(User.username), unique=True)


class Session(IdMixin, CreatedMixin, Base):
    """An anonymous or logged-in session. Tokens are stored only as hashes."""

    __tablename__ = "sessions"

    kind: Mapped[str] = mapped_column(String(16), default="anonymous")  # anonymous | user
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # The jti of the newest access token; refresh rotates it, so older tokens die.
    current_jti: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(index=True)
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))

    user: Mapped[User | None] = relationship(lazy="raise")


class Submission(IdMixin, CreatedMixin, Base):
    """One version of a memo's text. Revisions share a lineage."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("lineage_id", "version_number"),)

    session_id: Mapped[str | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="SET NULL"), index=True
    )
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    text_content: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[str] = mapped_column(String(64))
    char_count: Mapped[int] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(8))
    lineage_id: Mapped[str] = mapped_column(String(36), index=True)
    version_number: Mapped[int] = mapped_column(Integer, default=1)
    previous_submission_id: Mapped[str | None] = mapped_column(
        ForeignKey("submissions.id", ondelete="SET NULL")
    )


class Batch(IdMixin, CreatedMixin, Base):
    """A group of submissions evaluated together (bulk API)."""

    __tablename__ = "batches"

    session_id: Mapped[str | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="SET NULL"), index=True
    )
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    total: Mapped[int] = mapped_column(Integer, default=0)
    provider_batch_id: Mapped[str | None] = mapped_column(String(128))
    callback_url: Mapped[str | None] = mapped_column(String(2048))
    completed_at: Mapped[datetime | None]


class Evaluation(IdMixin, CreatedMixin, Base):
    __tablename__ = "evaluations"
    __table_args__ = (
        Index("ix_evaluations_status_updated", "status", "updated_at"),
        Index("ix_evaluations_session_created", "session_id", "created_at"),
        Index("ix_evaluations_user_created", "user_id", "created_at"),
    )

    submission_id: Mapped[str] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    # Owner, copied from the submission so every read can be scoped cheaply.
    session_id: Mapped[str | None] = mapped_column(ForeignKey("sessions.id", ondelete="SET NULL"))
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    batch_id: Mapped[str | None] = mapped_column(
        ForeignKey("batches.id", ondelete="SET NULL"), index=True
    )

    status: Mapped[str] = mapped_column(String(16), default=EvaluationStatus.QUEUED.value)
    progress_percentage: Mapped[int] = mapped_column(Integer, default=0)
    overall_score: Mapped[float | None] = mapped_column(Float)
    rubric_scores: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    strengths: Mapped[list[str] | None] = mapped_column(JsonType)
    opportunities: Mapped[list[str] | None] = mapped_column(JsonType)
    segment_feedback: Mapped[list[dict[str, Any]] | None] = mapped_column(JsonType)
    language: Mapped[str | None] = mapped_column(String(8))

    llm_provider: Mapped[str | None] = mapped_column(String(32))
    llm_model: Mapped[str | None] = mapped_column(String(100))
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cache_read_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cache_creation_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float | None] = mapped_column(Float, default=0.0)  # None: price unknown

    processing_time: Mapped[float | None] = mapped_column(Float)  # seconds, claim → saved
    queue_wait: Mapped[float | None] = mapped_column(Float)  # seconds, submit → claim
    llm_time: Mapped[float | None] = mapped_column(Float)
    timings: Mapped[dict[str, Any] | None] = mapped_column(JsonType)

    config_version: Mapped[str | None] = mapped_column(String(32))
    prompt_version: Mapped[str | None] = mapped_column(String(64))
    rubric_snapshot: Mapped[dict[str, Any] | None] = mapped_column(JsonType)

    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    raw_prompt: Mapped[str | None] = mapped_column(Text)
    raw_response: Mapped[str | None] = mapped_column(Text)

    request_id: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A worker's claim: a second delivery cannot take the row while the lease lives,
    # and only the lease holder may write the result (at-most-once write).
    lease_token: Mapped[str | None] = mapped_column(String(36))
    lease_expires_at: Mapped[datetime | None]
    enqueued_at: Mapped[datetime | None]  # None: not yet handed to the broker
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    callback_url: Mapped[str | None] = mapped_column(String(2048))
    # A submission to an assignment: scored with the assignment's pinned rubric.
    assignment_id: Mapped[str | None] = mapped_column(
        ForeignKey("assignments.id", ondelete="SET NULL"), index=True
    )

    submission: Mapped[Submission] = relationship(lazy="raise")


class ChatSession(IdMixin, CreatedMixin, Base):
    __tablename__ = "chat_sessions"

    evaluation_id: Mapped[str] = mapped_column(
        ForeignKey("evaluations.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[str | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="SET NULL"), index=True
    )
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ChatMessage(IdMixin, CreatedMixin, Base):
    __tablename__ = "chat_messages"
    __table_args__ = (
        Index("ix_chat_messages_chat_created", "chat_session_id", "created_at"),
        # The sweeper looks for the few replies still pending or streaming.
        Index("ix_chat_messages_status", "status"),
    )

    chat_session_id: Mapped[str] = mapped_column(ForeignKey("chat_sessions.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))  # user | assistant
    content: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="completed")
    reply_to_id: Mapped[str | None] = mapped_column(
        ForeignKey("chat_messages.id", ondelete="CASCADE")
    )
    llm_provider: Mapped[str | None] = mapped_column(String(32))
    llm_model: Mapped[str | None] = mapped_column(String(100))
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float | None] = mapped_column(Float, default=0.0)  # None: price unknown
    error_message: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    completed_at: Mapped[datetime | None]
    # Like an evaluation's claim: the worker writing the reply renews the lease;
    # a reply whose lease ran out lost its worker and is failed by the sweeper.
    enqueued_at: Mapped[datetime | None]  # None: the reply task was never published
    lease_token: Mapped[str | None] = mapped_column(String(36))
    lease_expires_at: Mapped[datetime | None]


class ConfigVersion(CreatedMixin, Base):
    """Every saved state of a configuration file: old and new bytes, who, why."""

    __tablename__ = "config_versions"
    __table_args__ = (UniqueConstraint("config_type", "version_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    config_type: Mapped[str] = mapped_column(String(32), index=True)
    version_number: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64))
    previous_content: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str] = mapped_column(
        String(16), default="update"
    )  # initial|update|rollback|import
    change_reason: Mapped[str | None] = mapped_column(Text)
    changed_by: Mapped[str | None] = mapped_column(String(64))
    changed_by_user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    rollback_of_version_id: Mapped[int | None] = mapped_column(Integer)


class AuthEvent(CreatedMixin, Base):
    __tablename__ = "auth_events"
    __table_args__ = (Index("ix_auth_events_created", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_type: Mapped[str] = mapped_column(String(32), index=True)
    success: Mapped[bool] = mapped_column(Boolean, default=True)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    username: Mapped[str | None] = mapped_column(String(64))
    session_id: Mapped[str | None] = mapped_column(String(36))
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    details: Mapped[dict[str, Any] | None] = mapped_column(JsonType)


class IdempotencyKey(CreatedMixin, Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("owner", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner: Mapped[str] = mapped_column(String(80))  # "user:<id>" or "session:<id>"
    key: Mapped[str] = mapped_column(String(255))
    request_sha256: Mapped[str] = mapped_column(String(64))
    evaluation_id: Mapped[str | None] = mapped_column(
        ForeignKey("evaluations.id", ondelete="CASCADE")
    )
    batch_id: Mapped[str | None] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(index=True)


class AppSetting(Base):
    """Runtime switches shared by every process (e.g. the debug toggle)."""

    __tablename__ = "app_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JsonType)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(64))


class ApiToken(IdMixin, CreatedMixin, Base):
    """Personal access token; only its hash is stored."""

    __tablename__ = "api_tokens"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JsonType)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class WebhookEndpoint(IdMixin, CreatedMixin, Base):
    __tablename__ = "webhook_endpoints"

    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[str | None] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2048))
    secret: Mapped[str] = mapped_column(String(128))
    events: Mapped[list[str]] = mapped_column(JsonType)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Start times (epoch seconds) of the attempts of the last minute: the
    # per-endpoint delivery rate, read and written under the row's lock.
    recent_attempts: Mapped[list[float] | None] = mapped_column(JsonType)


class WebhookDelivery(IdMixin, CreatedMixin, Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),)

    evaluation_id: Mapped[str | None] = mapped_column(
        ForeignKey("evaluations.id", ondelete="CASCADE"), index=True
    )
    endpoint_id: Mapped[str | None] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="SET NULL")
    )
    url: Mapped[str] = mapped_column(String(2048))
    event: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    # Events that are not an evaluation's final state (review.released,
    # assignment.due) carry their data, frozen when the event happened, and
    # what it is about ("assignment:<id>"); evaluation.* rows leave both empty.
    subject: Mapped[str | None] = mapped_column(String(80))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JsonType)


# ------------------------------------------------------------ coaches and cohorts


class Cohort(IdMixin, CreatedMixin, Base):
    """A group of writers and the coaches who teach them."""

    __tablename__ = "cohorts"

    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CohortMember(IdMixin, CreatedMixin, Base):
    __tablename__ = "cohort_members"
    __table_args__ = (UniqueConstraint("cohort_id", "user_id"),)

    cohort_id: Mapped[str] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # coach | writer
    added_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Assignment(IdMixin, CreatedMixin, Base):
    """A task set in a cohort, with the rubric it is scored against pinned at creation."""

    __tablename__ = "assignments"
    __table_args__ = (
        Index("ix_assignments_cohort_due", "cohort_id", "due_at"),
        # Beat looks for passed due dates not yet announced.
        Index("ix_assignments_due_notified", "due_notified_at", "due_at"),
    )

    cohort_id: Mapped[str] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    instructions: Mapped[str] = mapped_column(Text, default="")
    due_at: Mapped[datetime]
    rubric_id: Mapped[str] = mapped_column(String(40))
    rubric_version: Mapped[str] = mapped_column(String(16))  # content hash of the snapshot
    rubric_snapshot: Mapped[dict[str, Any]] = mapped_column(JsonType)  # the whole rubric
    feedback_release: Mapped[str] = mapped_column(String(16), default="after_review")
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    due_notified_at: Mapped[datetime | None]


class Review(IdMixin, CreatedMixin, Base):
    """A coach's review of one submission. The AI's values stay on the evaluation."""

    __tablename__ = "reviews"

    evaluation_id: Mapped[str] = mapped_column(
        ForeignKey("evaluations.id", ondelete="CASCADE"), unique=True
    )
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | released
    # criterion id -> {"score", "reason", "by", "by_username", "at"}
    overrides: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    final_overall: Mapped[float | None] = mapped_column(Float)
    # What the writer sees: the final feedback as it was at the last release.
    released_snapshot: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    released_at: Mapped[datetime | None]
    released_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    release_count: Mapped[int] = mapped_column(Integer, default=0)
    changed_since_release: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ReviewComment(IdMixin, CreatedMixin, Base):
    """A coach's own comment, or the coach's edit or deletion of an AI comment."""

    __tablename__ = "review_comments"
    __table_args__ = (UniqueConstraint("review_id", "ai_index"),)

    review_id: Mapped[str] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(8))  # ai | coach
    ai_index: Mapped[int | None] = mapped_column(Integer)  # position in segment_feedback
    start_offset: Mapped[int] = mapped_column(Integer)
    end_offset: Mapped[int] = mapped_column(Integer)
    segment: Mapped[str] = mapped_column(Text)
    comment: Mapped[str] = mapped_column(Text)
    questions: Mapped[list[str]] = mapped_column(JsonType, default=list)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    author_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ReviewChange(CreatedMixin, Base):
    """The audit trail of a review: who changed what, and when."""

    __tablename__ = "review_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    review_id: Mapped[str] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_username: Mapped[str | None] = mapped_column(String(64))
    # score_override | score_revert | comment_edit | comment_delete | comment_add | release
    action: Mapped[str] = mapped_column(String(32))
    details: Mapped[dict[str, Any]] = mapped_column(JsonType)
