"""Chat with the coach about an evaluated memo."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from memoai.coaching import chat
from memoai.coaching.stream import events
from memoai.config import Settings
from memoai.models import ChatMessage
from memoai.platform.db import session_scope
from memoai_api.deps import ChatMessageLimit, JsonBody, PrincipalDep, SettingsDep
from memoai_api.envelope import Envelope, ErrorEnvelope, ok, request_id
from memoai_api.routes import API_PREFIX

router = APIRouter(prefix=f"{API_PREFIX}/chat/sessions", tags=["chat"])
ChatId = Annotated[str, Path(max_length=64)]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorEnvelope, "description": "No valid session"},
    404: {"model": ErrorEnvelope, "description": "Not found, or not yours"},
}


@router.post(
    "",
    status_code=201,
    response_model=Envelope[chat.ChatSessionPublic],
    dependencies=[JsonBody],
    responses={
        **ERRORS,
        409: {
            "model": ErrorEnvelope,
            "description": "Not completed yet, or awaiting_coach_review",
        },
    },
)
def open_chat(
    body: chat.ChatSessionCreate, principal: PrincipalDep, response: Response
) -> Envelope[chat.ChatSessionPublic]:
    """Open the coach chat on one of your completed evaluations (reopens an existing one)."""
    with session_scope() as db:
        opened, created = chat.open_session(db, principal, body)
    if not created:
        response.status_code = 200
    return ok(opened)


@router.get(
    "/{chat_session_id}/messages", response_model=Envelope[chat.MessageList], responses=ERRORS
)
def list_messages(chat_session_id: ChatId, principal: PrincipalDep) -> Envelope[chat.MessageList]:
    """The conversation so far, oldest first."""
    with session_scope(write=False) as db:
        return ok(chat.messages(db, principal, chat_session_id))


@router.post(
    "/{chat_session_id}/messages",
    status_code=201,
    response_model=Envelope[chat.MessagePosted],
    dependencies=[JsonBody, ChatMessageLimit],
    responses={
        **ERRORS,
        202: {"model": Envelope[chat.MessagePosted], "description": "Reply still being written"},
        409: {"model": ErrorEnvelope, "description": "The coach is still answering"},
    },
)
def post_message(
    chat_session_id: ChatId,
    body: chat.MessageCreate,
    principal: PrincipalDep,
    settings: SettingsDep,
    response: Response,
    wait: Annotated[
        bool, Query(description="Wait for the full reply (false: 202 now, then follow stream_url)")
    ] = True,
) -> Envelope[chat.MessagePosted]:
    """Ask the coach; returns the full reply (201), or 202 while it is still being written."""
    with session_scope() as db:
        user, assistant = chat.post_message(db, principal, chat_session_id, body, request_id())
    return ok(_answer(settings, chat_session_id, user, assistant, wait, response))


@router.post(
    "/{chat_session_id}/messages/{message_id}/retry",
    response_model=Envelope[chat.MessagePosted],
    dependencies=[ChatMessageLimit],
    responses={
        **ERRORS,
        202: {"model": Envelope[chat.MessagePosted], "description": "Reply still being written"},
        409: {
            "model": ErrorEnvelope,
            "description": "Not a failed reply, not the latest one, or the coach is answering",
        },
    },
)
def retry_reply(
    chat_session_id: ChatId,
    message_id: Annotated[str, Path(max_length=64, description="The failed reply's id")],
    principal: PrincipalDep,
    settings: SettingsDep,
    response: Response,
    wait: Annotated[
        bool, Query(description="Wait for the full reply (false: 202 now, then follow stream_url)")
    ] = True,
) -> Envelope[chat.MessagePosted]:
    """Write a failed reply again (the latest one); answers like posting the question."""
    with session_scope() as db:
        user, assistant = chat.retry_reply(db, principal, chat_session_id, message_id, request_id())
    return ok(_answer(settings, chat_session_id, user, assistant, wait, response))


def _answer(
    settings: Settings,
    chat_session_id: str,
    user: ChatMessage,
    assistant: ChatMessage,
    wait: bool,
    response: Response,
) -> chat.MessagePosted:
    stream_url = f"{API_PREFIX}/chat/sessions/{chat_session_id}/messages/{assistant.id}/stream"
    status, text, error, code = assistant.status, None, None, None
    if wait:
        reply = chat.wait_for_reply(assistant.id, settings.backend.api_settings.request_timeout)
        status, error, code = reply.status, reply.error_message, reply.error_code
        text = reply.content if reply.status == "completed" else None
    if status not in ("completed", "failed"):
        response.status_code = 202
    return chat.MessagePosted(
        message_id=user.id,
        assistant_message_id=assistant.id,
        assistant_response=text,
        status=status,
        error=error,
        error_code=code,
        stream_url=stream_url,
    )


@router.get(
    "/{chat_session_id}/messages/{message_id}/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}, **ERRORS},
)
async def stream_reply(
    chat_session_id: ChatId,
    message_id: Annotated[str, Path(max_length=64)],
    principal: PrincipalDep,
    settings: SettingsDep,
) -> StreamingResponse:
    """Server-sent events: `delta` {text} pieces of the reply, then `done` {status, content}."""
    # Resolve ownership before streaming so a stranger gets a clean 404.
    await run_in_threadpool(chat.read_reply, principal, chat_session_id, message_id)

    async def read_row() -> tuple[str, str, str | None]:
        return await run_in_threadpool(chat.read_reply, principal, chat_session_id, message_id)

    timeout = float(settings.backend.evaluation.timeout_seconds)
    return StreamingResponse(
        events(settings, message_id, read_row, timeout),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
