"""Chat with the coach about an evaluated memo."""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Header, Path, Query, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from memoai.coaching import chat
from memoai.coaching.stream import ReplyState, events, wait_final
from memoai.config import Settings
from memoai.models import ChatMessage
from memoai.platform.db import session_scope
from memoai.platform.identity import Principal
from memoai_api.deps import ChatMessageLimit, JsonBody, PrincipalDep, SettingsDep
from memoai_api.envelope import Envelope, ErrorEnvelope, ok, request_id
from memoai_api.routes import API_PREFIX
from memoai_api.waits import SLOTS, SlotStreamingResponse, hop, prefers_async, too_many_waits

log = structlog.get_logger(__name__)

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


WaitQuery = Annotated[
    bool,
    Query(
        description="Wait for the full reply (false: 202 now, then follow stream_url; "
        "the header Prefer: respond-async does the same)"
    ),
]
PreferHeader = Annotated[
    list[str] | None,
    Header(
        alias="Prefer",
        description="RFC 7240: `respond-async` answers 202 at once with stream_url, "
        "and the response says Preference-Applied: respond-async",
    ),
]
POSTED: dict[int | str, dict[str, Any]] = {
    202: {
        "model": Envelope[chat.MessagePosted],
        "description": "Reply still being written: asked not to wait (wait=false or "
        "Prefer: respond-async), the request's time ran out, or the caller already holds "
        "max_waits_per_caller waits",
        "headers": {
            "Preference-Applied": {
                "description": "respond-async when the Prefer header was honoured",
                "schema": {"type": "string"},
            }
        },
    },
}


@router.post(
    "/{chat_session_id}/messages",
    status_code=201,
    response_model=Envelope[chat.MessagePosted],
    dependencies=[JsonBody, ChatMessageLimit],
    responses={
        **ERRORS,
        **POSTED,
        409: {"model": ErrorEnvelope, "description": "The coach is still answering"},
    },
)
async def post_message(
    chat_session_id: ChatId,
    body: chat.MessageCreate,
    principal: PrincipalDep,
    settings: SettingsDep,
    response: Response,
    wait: WaitQuery = True,
    prefer: PreferHeader = None,
) -> Envelope[chat.MessagePosted]:
    """Ask the coach; returns the full reply (201), or 202 while it is still being written."""
    user, assistant = await run_in_threadpool(_post, principal, chat_session_id, body, request_id())
    waits = _should_wait(wait, prefer, response)
    return ok(await _answer(settings, principal, chat_session_id, user, assistant, waits, response))


@router.post(
    "/{chat_session_id}/messages/{message_id}/retry",
    response_model=Envelope[chat.MessagePosted],
    dependencies=[ChatMessageLimit],
    responses={
        **ERRORS,
        **POSTED,
        409: {
            "model": ErrorEnvelope,
            "description": "Not a failed reply, not the latest one, or the coach is answering",
        },
    },
)
async def retry_reply(
    chat_session_id: ChatId,
    message_id: Annotated[str, Path(max_length=64, description="The failed reply's id")],
    principal: PrincipalDep,
    settings: SettingsDep,
    response: Response,
    wait: WaitQuery = True,
    prefer: PreferHeader = None,
) -> Envelope[chat.MessagePosted]:
    """Write a failed reply again (the latest one); answers like posting the question."""
    user, assistant = await run_in_threadpool(
        _retry, principal, chat_session_id, message_id, request_id()
    )
    waits = _should_wait(wait, prefer, response)
    return ok(await _answer(settings, principal, chat_session_id, user, assistant, waits, response))


def _post(
    principal: Principal, chat_id: str, body: chat.MessageCreate, rid: str | None
) -> tuple[ChatMessage, ChatMessage]:
    with session_scope() as db:
        return chat.post_message(db, principal, chat_id, body, rid)


def _retry(
    principal: Principal, chat_id: str, message_id: str, rid: str | None
) -> tuple[ChatMessage, ChatMessage]:
    with session_scope() as db:
        return chat.retry_reply(db, principal, chat_id, message_id, rid)


def _should_wait(wait: bool, prefer: list[str] | None, response: Response) -> bool:
    if prefers_async(prefer):
        response.headers["Preference-Applied"] = "respond-async"
        return False
    return wait


async def _answer(
    settings: Settings,
    principal: Principal,
    chat_session_id: str,
    user: ChatMessage,
    assistant: ChatMessage,
    wait: bool,
    response: Response,
) -> chat.MessagePosted:
    stream_url = f"{API_PREFIX}/chat/sessions/{chat_session_id}/messages/{assistant.id}/stream"
    state = ReplyState(assistant.status, "", assistant.error_message, assistant.error_code)
    timeout = settings.backend.api_settings.request_timeout
    # Over the caller's cap the message is stored all the same: answer 202 now
    # (as with wait=false) rather than refuse it.
    slot = SLOTS.acquire(principal.owner_key, _cap(settings), timeout) if wait else None
    if slot is not None:
        try:
            state = await wait_final(
                settings, lambda: hop(chat.reply_state, assistant.id), assistant.id, timeout
            )
        finally:
            slot.release()
    elif wait:
        log.info("chat.wait_capped", caller=principal.owner_key, limit=_cap(settings))
    if not state.final:
        response.status_code = 202
    return chat.MessagePosted(
        message_id=user.id,
        assistant_message_id=assistant.id,
        assistant_response=state.content if state.status == "completed" else None,
        status=state.status,
        error=state.error,
        error_code=state.error_code,
        stream_url=stream_url,
    )


def _cap(settings: Settings) -> int:
    return settings.backend.api_settings.max_waits_per_caller


@router.get(
    "/{chat_session_id}/messages/{message_id}/stream",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}},
        **ERRORS,
        429: {
            "model": ErrorEnvelope,
            "description": "too_many_waits: the caller already holds max_waits_per_caller "
            "waits (see Retry-After)",
        },
    },
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
        return await hop(chat.read_reply, principal, chat_session_id, message_id)

    timeout = float(settings.backend.evaluation.timeout_seconds)
    slot = SLOTS.acquire(principal.owner_key, _cap(settings), timeout)
    if slot is None:
        raise too_many_waits(_cap(settings))
    return SlotStreamingResponse(
        events(settings, message_id, read_row, timeout),
        slot=slot,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
