"""Chat with the coach about an evaluated memo (API side).

Posting a message stores it with a pending assistant reply and queues the
reply task after commit; the worker writes the reply (streamed through
`coaching.stream`). API clients get the full reply in the POST response (the
API waits for it without holding a thread); the web app asks for an immediate
202 and follows the stream instead. A failed
reply can be retried; a stuck one is repaired by `coaching.recovery`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr
from sqlalchemy import select, update
from sqlalchemy.orm import Session as DbSession

from memoai.coaching.stream import ReplyState
from memoai.cohorts import feedback
from memoai.evaluation import repository as repo
from memoai.models import ChatMessage, ChatSession, EvaluationStatus, utcnow
from memoai.platform.db import session_scope
from memoai.platform.errors import Conflict, NotFound, ValidationFailed
from memoai.platform.identity import Principal
from memoai.platform.queue import TaskName, enqueue_after_commit
from memoai.platform.storable import storable

MAX_MESSAGE_LENGTH = 4000


class ChatSessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    evaluation_id: Annotated[StrictStr, Field(max_length=64)]


class ChatSessionPublic(BaseModel):
    chat_session_id: str
    evaluation_id: str
    created_at: datetime
    existing: bool = Field(description="True when an earlier chat on this evaluation was reopened")


class MessageCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"message_content": "How can I make my ask clearer?"}]},
    )
    message_content: Annotated[StrictStr, Field(description="1 to 4,000 characters")]


class MessagePublic(BaseModel):
    id: str
    role: Literal["user", "assistant"]
    content: str
    status: Literal["pending", "streaming", "completed", "failed"]
    created_at: datetime
    completed_at: datetime | None
    error: str | None
    error_code: str | None = Field(
        default=None,
        description="Why a reply failed, e.g. reply_interrupted, reply_not_started, llm_timeout",
    )
    llm_provider: str | None


class MessagePosted(BaseModel):
    message_id: str
    assistant_message_id: str
    assistant_response: str | None = Field(
        description="The full reply; null when it is still being written (see status)"
    )
    status: Literal["pending", "streaming", "completed", "failed"]
    error: str | None = None
    error_code: str | None = None
    stream_url: str


class MessageList(BaseModel):
    chat_session_id: str
    evaluation_id: str
    messages: list[MessagePublic]


def _public(m: ChatMessage) -> MessagePublic:
    return MessagePublic(
        id=m.id,
        role=m.role,
        content=m.content,
        status=m.status,
        created_at=m.created_at,
        completed_at=m.completed_at,
        error=m.error_message,
        error_code=m.error_code,
        llm_provider=m.llm_provider,
    )


def open_session(
    db: DbSession, principal: Principal, body: ChatSessionCreate
) -> tuple[ChatSessionPublic, bool]:
    """Open (or reopen) the chat on one of the caller's completed evaluations."""
    evaluation = repo.get_owned(db, principal, body.evaluation_id)
    if evaluation is None:
        raise NotFound("Evaluation not found.", field="evaluation_id")
    if evaluation.status != EvaluationStatus.COMPLETED.value:
        raise Conflict(
            "The coach can discuss a memo once its evaluation has completed.",
            field="evaluation_id",
            details={"status": evaluation.status},
        )
    feedback.ensure_released(db, evaluation)
    existing = db.scalars(
        select(ChatSession)
        .where(ChatSession.evaluation_id == evaluation.id, principal.owns(ChatSession))
        .order_by(ChatSession.created_at)
        .limit(1)
    ).first()
    if existing is not None:
        return (
            ChatSessionPublic(
                chat_session_id=existing.id,
                evaluation_id=evaluation.id,
                created_at=existing.created_at,
                existing=True,
            ),
            False,
        )
    chat = ChatSession(
        evaluation_id=evaluation.id, session_id=principal.session_fk, user_id=principal.user_id
    )
    db.add(chat)
    db.flush()
    return (
        ChatSessionPublic(
            chat_session_id=chat.id,
            evaluation_id=evaluation.id,
            created_at=chat.created_at,
            existing=False,
        ),
        True,
    )


def _owned_chat(db: DbSession, principal: Principal, chat_id: str) -> ChatSession:
    if not storable(chat_id):  # e.g. NUL, which PostgreSQL cannot even compare
        raise NotFound("Chat session not found.", field="chat_session_id")
    chat = db.scalars(
        select(ChatSession).where(ChatSession.id == chat_id, principal.owns(ChatSession))
    ).first()
    if chat is None:
        raise NotFound("Chat session not found.", field="chat_session_id")
    return chat


def messages(db: DbSession, principal: Principal, chat_id: str) -> MessageList:
    chat = _owned_chat(db, principal, chat_id)
    rows: Sequence[ChatMessage] = db.scalars(
        select(ChatMessage)
        .where(ChatMessage.chat_session_id == chat.id)
        .order_by(ChatMessage.created_at, ChatMessage.role.desc())
    ).all()
    return MessageList(
        chat_session_id=chat.id,
        evaluation_id=chat.evaluation_id,
        messages=[_public(m) for m in rows],
    )


def validate_message(text: str) -> str:
    if "\x00" in text:
        raise ValidationFailed("The message contains a NUL character.", field="message_content")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationFailed("The message has invalid Unicode.", field="message_content") from exc
    if not text.strip():
        raise ValidationFailed("The message is empty.", field="message_content")
    if len(text) > MAX_MESSAGE_LENGTH:
        raise ValidationFailed(
            f"The message is {len(text):,} characters; the limit is {MAX_MESSAGE_LENGTH:,}.",
            field="message_content",
        )
    return text


def post_message(
    db: DbSession,
    principal: Principal,
    chat_id: str,
    body: MessageCreate,
    request_id: str | None,
) -> tuple[ChatMessage, ChatMessage]:
    text = validate_message(body.message_content)
    chat = _owned_chat(db, principal, chat_id)
    _not_busy(db, chat)
    user = ChatMessage(chat_session_id=chat.id, role="user", content=text, request_id=request_id)
    db.add(user)
    db.flush()
    assistant = ChatMessage(
        chat_session_id=chat.id,
        role="assistant",
        content="",
        status="pending",
        reply_to_id=user.id,
        request_id=request_id,
        # Same timestamp as the question: ordering puts the user's message first.
        created_at=user.created_at,
        # Set optimistically; cleared if the publish after commit fails, and
        # then the sweeper publishes it (coaching.recovery).
        enqueued_at=utcnow(),
    )
    db.add(assistant)
    db.flush()
    enqueue_after_commit(db, TaskName.CHAT_REPLY, message_id=assistant.id, request_id=request_id)
    return user, assistant


def _not_busy(db: DbSession, chat: ChatSession) -> None:
    """One question at a time: 409 while a reply is pending or being written.

    Never for ever: the sweeper fails a reply whose worker died or that never
    started (coaching.recovery), and a failed reply does not block.
    """
    busy = db.scalars(
        select(ChatMessage.id).where(
            ChatMessage.chat_session_id == chat.id,
            ChatMessage.role == "assistant",
            ChatMessage.status.in_(("pending", "streaming")),
        )
    ).first()
    if busy is not None:
        raise Conflict(
            "The coach is still answering your previous message.",
            details={"assistant_message_id": busy},
        )


def retry_reply(
    db: DbSession, principal: Principal, chat_id: str, message_id: str, request_id: str | None
) -> tuple[ChatMessage, ChatMessage]:
    """Write a failed reply again (same question, same message id); the latest one only.

    An older failed reply is not rewritten: the conversation went on after it,
    so its answer would no longer follow the history. Ask again instead.
    """
    chat = _owned_chat(db, principal, chat_id)
    reply = db.get(ChatMessage, message_id) if storable(message_id) else None
    if reply is None or reply.chat_session_id != chat.id or reply.role != "assistant":
        raise NotFound("Message not found.", field="message_id")
    if reply.status != "failed":
        raise Conflict(
            f"Only a failed reply can be retried; this one is {reply.status}.",
            field="message_id",
            details={"status": reply.status},
        )
    newer = db.scalars(
        select(ChatMessage.id).where(
            ChatMessage.chat_session_id == chat.id,
            ChatMessage.created_at > reply.created_at,
        )
    ).first()
    if newer is not None:
        raise Conflict(
            "Only the latest reply can be retried; ask your question again instead.",
            field="message_id",
        )
    _not_busy(db, chat)
    question = db.get(ChatMessage, reply.reply_to_id) if reply.reply_to_id else None
    if question is None:
        raise Conflict("The question of this reply is gone; ask it again.", field="message_id")
    restarted = db.execute(
        update(ChatMessage)
        .where(ChatMessage.id == reply.id, ChatMessage.status == "failed")
        .values(
            status="pending",
            content="",
            error_code=None,
            error_message=None,
            completed_at=None,
            lease_token=None,
            lease_expires_at=None,
            enqueued_at=utcnow(),
            request_id=request_id,
        )
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if restarted != 1:
        raise Conflict("The reply changed while retrying; reload the conversation.")
    enqueue_after_commit(db, TaskName.CHAT_REPLY, message_id=reply.id, request_id=request_id)
    db.refresh(reply)
    return question, reply


def reply_state(message_id: str) -> ReplyState:
    """One short read of a reply (the API's waits call it between their sleeps)."""
    with session_scope(write=False) as db:
        message = db.get(ChatMessage, message_id)
        if message is None:  # deleted with its chat while someone waited
            raise NotFound("Message not found.", field="message_id")
        return ReplyState(
            message.status, message.content, message.error_message, message.error_code
        )


def read_reply(principal: Principal, chat_id: str, message_id: str) -> tuple[str, str, str | None]:
    with session_scope(write=False) as db:
        chat = _owned_chat(db, principal, chat_id)
        message = db.get(ChatMessage, message_id) if storable(message_id) else None
        if message is None or message.chat_session_id != chat.id or message.role != "assistant":
            raise NotFound("Message not found.", field="message_id")
        return message.status, message.content, message.error_message
