"""Write the coach's reply (the worker side of the chat).

The coach knows the memo, its earlier versions, the evaluation, the rubric,
the frameworks and the context template. The evaluation is the one its writer
sees (`cohorts.feedback.writer_view`): after a human coach released their
review, the coach's final scores and comments, marked as theirs. A submission
to an assignment is discussed with the rubric pinned to the assignment
(`evaluation.pinned`), the one it was scored with, not the live rubric.

The static part of the prompt and the memo block are sent as two cacheable
system blocks; the conversation follows, oldest turn first and never
rewritten, with a cache breakpoint on its last user turn, so each turn reads
the previous turns from the provider's cache.
"""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import select, update

from memoai.coaching.offline_coach import reply as offline_reply
from memoai.coaching.stream import ReplySink
from memoai.cohorts import feedback
from memoai.cohorts.schemas import EvaluationWithReview
from memoai.config import BusinessConfig, Settings, business_config, get_settings
from memoai.evaluation import pinned
from memoai.evaluation.language import language_name
from memoai.evaluation.leases import keeper
from memoai.evaluation.prompts import render
from memoai.llm.base import ChatRequest, LlmError, Message
from memoai.llm.factory import get_provider
from memoai.llm.offline import OfflineProvider
from memoai.llm.pricing import priced_cost
from memoai.llm.retry import deadline
from memoai.models import ChatMessage, ChatSession, Evaluation, Submission, new_id, utcnow
from memoai.platform.db import session_scope
from memoai.platform.logging import scrub_text

log = structlog.get_logger(__name__)
HISTORY_LIMIT = 20
EARLIER_VERSION_CHARS = 4000


def process_reply(message_id: str) -> str:
    settings = get_settings()
    lease_seconds = settings.backend.queue.lease_seconds
    token = new_id()
    with session_scope() as db:
        # pending -> streaming under a lease: a duplicate delivery matches
        # nothing, and a reply whose worker dies is failed by the sweeper when
        # the lease runs out (coaching.recovery), not left streaming for ever.
        claimed = db.execute(
            update(ChatMessage)
            .where(ChatMessage.id == message_id, ChatMessage.status == "pending")
            .values(
                status="streaming",
                lease_token=token,
                lease_expires_at=utcnow() + timedelta(seconds=lease_seconds),
                error_code=None,
                error_message=None,
            )
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
    if claimed != 1:
        log.info("chat.skipped", reason="already answered or in progress")
        return "skipped"
    with keeper(lease_seconds, ChatMessage).hold(message_id, token):
        return _write_reply(settings, message_id, token)


def _write_reply(settings: Settings, message_id: str, token: str) -> str:
    sink = ReplySink(settings, message_id)
    started = time.monotonic()
    try:
        with session_scope(write=False) as db:
            context = _load(db, message_id)
        business = pinned.for_evaluation(
            business_config(force_check=True), context["evaluation"].id
        )
        provider = get_provider(settings)
        if isinstance(provider, OfflineProvider):
            text = offline_reply(
                business, context["rubric_scores"], context["question"], context["language"]
            )
            for piece in _pieces(text):
                sink.delta(piece)
                time.sleep(0.02)  # paced like a model, so the UI streams the same way
            values: dict[str, Any] = {"llm_provider": "offline", "llm_model": provider.model}
        else:
            request = _request(settings, business, context)
            with deadline(float(settings.backend.evaluation.timeout_seconds)):
                response = provider.chat(request, on_delta=sink.delta)  # type: ignore[attr-defined]
            text = response.text
            values = {
                "llm_provider": provider.name,  # type: ignore[attr-defined]
                "llm_model": response.model,
                "input_tokens": response.usage.input_tokens + response.usage.cache_read_tokens,
                "output_tokens": response.usage.output_tokens,
                "cost_usd": priced_cost(
                    response.usage,
                    settings.llm.pricing,
                    provider.name,  # type: ignore[attr-defined]
                    response.model,
                ),
            }
        sink.flush()  # the last pieces go out before the final write, never after it
        if not _finish(message_id, token, {**values, "content": text, "status": "completed"}):
            sink.close("failed")
            log.warning("chat.reply_discarded", reason="lease lost (the sweeper failed it)")
            return "discarded"
        sink.close("completed")
        log.info("chat.replied", seconds=round(time.monotonic() - started, 3), chars=len(text))
        return "completed"
    except LlmError as exc:
        error = scrub_text(f"The coach could not answer: {exc.message}")
        code = exc.code
    except Exception as exc:
        log.exception("chat.crashed")
        error = f"The coach could not answer ({type(exc).__name__}). Please try again."
        code = "internal_error"
    sink.flush()
    _finish(
        message_id,
        token,
        {"status": "failed", "error_message": error, "error_code": code, "content": sink.text},
    )
    sink.close("failed")
    log.warning("chat.failed", error=error, error_code=code)
    return "failed"


def _finish(message_id: str, token: str, values: dict[str, Any]) -> bool:
    """The final write; only the lease holder's counts (the sweeper may have failed it)."""
    with session_scope() as db:
        written = db.execute(
            update(ChatMessage)
            .where(
                ChatMessage.id == message_id,
                ChatMessage.lease_token == token,
                ChatMessage.status == "streaming",
            )
            .values(**values, completed_at=utcnow(), lease_expires_at=None)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
    return bool(written == 1)


def _pieces(text: str, size: int = 24) -> list[str]:
    pieces, current = [], ""
    for word in text.split(" "):
        current += word + " "
        if len(current) >= size:
            pieces.append(current)
            current = ""
    if current:
        pieces.append(current)
    if pieces:
        pieces[-1] = pieces[-1].rstrip(" ")
    return pieces


def _load(db: Any, message_id: str) -> dict[str, Any]:
    message = db.get(ChatMessage, message_id)
    chat = db.get(ChatSession, message.chat_session_id)
    evaluation = db.get(Evaluation, chat.evaluation_id)
    submission = db.get(Submission, evaluation.submission_id)
    earlier = db.scalars(
        select(Submission)
        .where(
            Submission.lineage_id == submission.lineage_id,
            Submission.version_number < submission.version_number,
        )
        .order_by(Submission.version_number)
    ).all()
    history = db.scalars(
        select(ChatMessage)
        .where(
            ChatMessage.chat_session_id == chat.id,
            ChatMessage.id != message.id,
            ChatMessage.status == "completed",
        )
        .order_by(ChatMessage.created_at.desc(), ChatMessage.role)
        .limit(HISTORY_LIMIT)
    ).all()
    turns = [Message(m.role, m.content) for m in reversed(history) if m.content.strip()]
    question = turns[-1].content if turns and turns[-1].role == "user" else ""
    seen = feedback.writer_view(db, evaluation, submission)
    return {
        "memo": submission.text_content,
        "version": submission.version_number,
        "earlier": [(s.version_number, s.text_content) for s in earlier],
        "evaluation": seen,
        "rubric_scores": {name: dict(item) for name, item in seen.rubric_scores.items()},
        "language": evaluation.language or submission.language or "en",
        "turns": turns,
        "question": question,
        "boundary": chat_boundary(chat.id),
    }


def chat_boundary(chat_id: str) -> str:
    """The memo block's delimiter, the same on every turn of one chat.

    A fresh random line per request would change the block each turn and the
    provider could never read it from its cache. This one still cannot be
    forged: the memo and its earlier versions were written before the chat (and
    its random id) existed, and they never change.
    """
    digest = hashlib.sha256(f"memoai-chat-boundary:{chat_id}".encode()).hexdigest()[:16]
    return f"=====MEMO-{digest}====="


def _request(settings: Settings, business: BusinessConfig, context: dict[str, Any]) -> ChatRequest:
    language = language_name(context["language"])
    system = render(
        business.prompt.chat_system,
        rubric=business.rubric.model_dump(),
        frameworks=[f.model_dump() for f in business.frameworks],
        context=business.context.model_dump(),
        language=language,
    ).strip()
    boundary = context["boundary"]
    lines = [
        f"The writer's memo (version {context['version']}) is between the boundary lines.",
        boundary,
        context["memo"],
        boundary,
    ]
    for version, text in context["earlier"]:
        lines += [f"Earlier version {version}:", boundary, text[:EARLIER_VERSION_CHARS], boundary]
    lines += evaluation_lines(context["evaluation"], context["version"])
    rs = settings.llm.request_settings
    return ChatRequest(
        system=system,
        context="\n".join(lines),
        messages=_alternating(context["turns"]),
        max_tokens=rs.chat_max_tokens,
        temperature=rs.chat_temperature,
        cache_history=True,
    )


def evaluation_lines(evaluation: EvaluationWithReview, version: int) -> list[str]:
    """The evaluation as the writer sees it, with the human coach's changes marked."""
    review = evaluation.review
    if review is not None and review.status == "awaiting_review" and not evaluation.rubric_scores:
        # Withheld until the coach's review: there is nothing to discuss yet.
        return [
            f"The evaluation of version {version} awaits the writer's coach's review and is "
            "not available yet; do not guess its scores."
        ]
    lines = [f"Evaluation of version {version}: overall {evaluation.overall_score}."]
    released = review if review is not None and review.status == "released" else None
    if released is not None:
        lines.append(
            "The writer's coach (a person) reviewed the AI's evaluation and released it to the "
            "writer: the scores and comments below are the coach's final ones. Where the coach "
            "changed a score, treat the coach's score and reason as authoritative."
        )
    elif review is not None:
        lines.append(
            "The writer's coach (a person) has not released a review of this AI evaluation "
            "yet; its scores and comments may still change."
        )
    for name, item in evaluation.rubric_scores.items():
        coach = released.rubric_scores.get(name) if released is not None else None
        if coach is not None and coach.coach_override:
            lines.append(
                f"- {name}: {item.score} (set by the writer's coach; the AI gave "
                f"{coach.ai_score}) - coach's reason: {item.justification}"
            )
        else:
            lines.append(f"- {name}: {item.score} - {item.justification}")
    lines.append("Strengths: " + "; ".join(evaluation.strengths))
    lines.append("Opportunities: " + "; ".join(evaluation.opportunities))
    sources = [c.source for c in released.comments] if released is not None else []
    for index, seg in enumerate(evaluation.segment_feedback):
        by = (
            "The writer's coach's comment"
            if index < len(sources) and sources[index] == "coach"
            else "Comment"
        )
        lines.append(f'{by} on "{seg.segment}": {seg.comment} Questions: {" ".join(seg.questions)}')
    return lines


def _alternating(turns: list[Message]) -> list[Message]:
    """The Messages API wants user/assistant turns alternating, starting with the user."""
    merged: list[Message] = []
    for turn in turns:
        if merged and merged[-1].role == turn.role:
            merged[-1] = Message(turn.role, merged[-1].content + "\n\n" + turn.content)
        else:
            merged.append(turn)
    while merged and merged[0].role != "user":
        merged.pop(0)
    return merged
