"""Rows for the operations tests, written through the ORM on a private engine."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session as DbSession

from memoai.models import (
    AuthEvent,
    Base,
    ChatMessage,
    ChatSession,
    ConfigVersion,
    Evaluation,
    Session,
    Submission,
    User,
    utcnow,
)


def seed(engine: Engine, *, users: int = 2, memos_per_user: int = 3) -> dict[str, list[str]]:
    """A small but complete graph: users, sessions, memos, evaluations, chats, audit rows."""
    ids: dict[str, list[str]] = {"users": [], "sessions": [], "submissions": [], "evaluations": []}
    now = utcnow()
    with DbSession(engine) as db, db.begin():
        for u in range(users):
            user = User(username=f"user{u}", password_hash="x" * 60, is_admin=u == 0)
            db.add(user)
            db.flush()
            session = Session(
                kind="user", user_id=user.id, expires_at=now + timedelta(hours=1), token_hash=None
            )
            db.add(session)
            db.flush()
            ids["users"].append(user.id)
            ids["sessions"].append(session.id)
            for m in range(memos_per_user):
                sub = Submission(
                    session_id=session.id,
                    user_id=user.id,
                    text_content=f"Memo {m} of user {u}: ¿ünïcode? 💡",
                    text_sha256=f"{u}{m}".ljust(64, "0"),
                    char_count=30,
                    lineage_id=f"lineage-{u}-{m}",
                    created_at=now - timedelta(minutes=10 * (memos_per_user - m)),
                )
                db.add(sub)
                db.flush()
                ev = Evaluation(
                    submission_id=sub.id,
                    session_id=session.id,
                    user_id=user.id,
                    status="completed",
                    progress_percentage=100,
                    overall_score=3.5 + m / 10,
                    rubric_scores={"clarity": {"score": 4, "justification": "Clear."}},
                    strengths=["Direct ask"],
                    created_at=sub.created_at,
                )
                db.add(ev)
                db.flush()
                chat = ChatSession(evaluation_id=ev.id, session_id=session.id, user_id=user.id)
                db.add(chat)
                db.flush()
                question = ChatMessage(chat_session_id=chat.id, role="user", content="Why?")
                db.add(question)
                db.flush()
                db.add(
                    ChatMessage(
                        chat_session_id=chat.id,
                        role="assistant",
                        content="Because.",
                        reply_to_id=question.id,
                    )
                )
                ids["submissions"].append(sub.id)
                ids["evaluations"].append(ev.id)
        db.add(
            ConfigVersion(config_type="rubric", version_number=1, content="a", content_sha256="b")
        )
        db.add(AuthEvent(event_type="login", success=False, username="user0"))
    return ids


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            order = list(table.primary_key.columns)
            rows[table.name] = [tuple(r) for r in conn.execute(select(table).order_by(*order))]
        rows["alembic_version"] = [
            tuple(r) for r in conn.execute(text("SELECT version_num FROM alembic_version"))
        ]
    return rows


def mutate(engine: Engine) -> None:
    """Insert, update and delete, so a restore has something to undo."""
    with DbSession(engine) as db, db.begin():
        db.add(User(username="added-after-backup", password_hash="y" * 60))
        db.add(AuthEvent(event_type="logout", success=True))
        first = db.scalars(select(Evaluation).order_by(Evaluation.id)).first()
        assert first is not None
        first.overall_score = 1.0
        first.strengths = ["changed"]
        chat = db.scalars(select(ChatMessage).order_by(ChatMessage.id)).all()
        for message in chat:
            if message.reply_to_id is not None:
                db.delete(message)
