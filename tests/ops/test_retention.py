"""Retention jobs: what they delete, what they archive first, and what they never touch."""

from __future__ import annotations

import gzip
import json
import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession

from memoai.config import get_settings
from memoai.models import (
    ApiToken,
    ChatMessage,
    ChatSession,
    Evaluation,
    IdempotencyKey,
    Session,
    Submission,
    utcnow,
)
from memoai.operations import retention
from memoai.platform.db import get_engine
from memoai.platform.migrate import upgrade
from tests.ops.conftest import OpsEnv
from tests.ops.data import seed

pytestmark = pytest.mark.integration


def _count(model: Any, *where: Any) -> int:
    with DbSession(get_engine()) as db:
        return int(db.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _anonymous_session(db: DbSession, *, expired_hours_ago: float, status: str) -> str:
    now = utcnow()
    session = Session(kind="anonymous", expires_at=now - timedelta(hours=expired_hours_ago))
    db.add(session)
    db.flush()
    sub = Submission(
        session_id=session.id,
        text_content="anonymous memo",
        text_sha256="0" * 64,
        char_count=14,
        lineage_id=session.id,
    )
    db.add(sub)
    db.flush()
    ev = Evaluation(submission_id=sub.id, session_id=session.id, status=status)
    db.add(ev)
    db.flush()
    chat = ChatSession(evaluation_id=ev.id, session_id=session.id)
    db.add(chat)
    db.flush()
    db.add(ChatMessage(chat_session_id=chat.id, role="user", content="hi"))
    db.add(
        IdempotencyKey(
            owner=f"session:{session.id}",
            key="k",
            request_sha256="0" * 64,
            evaluation_id=ev.id,
            expires_at=now + timedelta(days=1),
        )
    )
    return session.id


@pytest.fixture
def db_env(ops_env: OpsEnv, in_process: Any) -> OpsEnv:
    in_process(ops_env)
    upgrade(get_engine())
    return ops_env


def test_expired_anonymous_sessions_go_with_their_data(db_env: OpsEnv) -> None:
    with DbSession(get_engine()) as db, db.begin():
        old = _anonymous_session(db, expired_hours_ago=48, status="completed")
        recent = _anonymous_session(db, expired_hours_ago=1, status="completed")
        busy = _anonymous_session(db, expired_hours_ago=48, status="processing")
    ids = seed(get_engine(), users=1, memos_per_user=2)
    user_session = ids["sessions"][0]
    with DbSession(get_engine()) as db, db.begin():
        db.get(Session, user_session).expires_at = utcnow() - timedelta(days=3)  # type: ignore[union-attr]

    deleted = retention.expire_sessions(get_settings())

    assert deleted == 2  # the old anonymous one and the user's
    assert _count(Session, Session.id == old) == 0
    assert _count(Submission, Submission.session_id == old) == 0
    assert _count(Evaluation, Evaluation.session_id == old) == 0
    assert _count(IdempotencyKey, IdempotencyKey.owner == f"session:{old}") == 0
    assert _count(Submission, Submission.text_content == "anonymous memo") == 2
    # Inside the grace period, or with work in flight: kept.
    assert _count(Session, Session.id.in_([recent, busy])) == 2
    # A user's memos outlive the session they were written in.
    assert _count(Session, Session.id == user_session) == 0
    assert _count(Submission, Submission.user_id == ids["users"][0]) == 2
    assert _count(ChatSession, ChatSession.user_id == ids["users"][0]) == 2


def test_revoked_and_expired_api_tokens_go_after_the_grace_period(db_env: OpsEnv) -> None:
    ids = seed(get_engine(), users=1, memos_per_user=0)
    now = utcnow()

    def token(name: str, **dates: Any) -> None:
        db.add(
            ApiToken(
                user_id=ids["users"][0],
                name=name,
                token_prefix="mac_x",
                token_hash=name.ljust(64, "0"),
                scopes=["read"],
                **dates,
            )
        )

    with DbSession(get_engine()) as db, db.begin():
        token("live", expires_at=now + timedelta(days=30))
        token(
            "revoked-old", expires_at=now + timedelta(days=30), revoked_at=now - timedelta(days=3)
        )
        token(
            "revoked-new", expires_at=now + timedelta(days=30), revoked_at=now - timedelta(hours=1)
        )
        token("expired-old", expires_at=now - timedelta(days=3))
        token("expired-new", expires_at=now - timedelta(hours=1))

    assert retention.expire_api_tokens(get_settings()) == 2
    with DbSession(get_engine()) as db:
        left = set(db.scalars(select(ApiToken.name)))
    # Inside the grace period the owner still sees them, marked revoked or expired.
    assert left == {"live", "revoked-new", "expired-new"}


def test_submissions_over_the_cap_are_archived_then_deleted(
    db_env: OpsEnv, in_process: Any
) -> None:
    ids = seed(get_engine(), users=2, memos_per_user=5)
    db_env.env["KEEP_SUBMISSIONS_PER_USER"] = "3"
    in_process(db_env)
    settings = get_settings()

    assert retention.trim_submissions(settings) == 4  # 2 users x (5 - 3)

    for user in ids["users"]:
        assert _count(Submission, Submission.user_id == user) == 3
        assert _count(Evaluation, Evaluation.user_id == user) == 3
        assert _count(ChatSession, ChatSession.user_id == user) == 3
    # The oldest went; the newest three stayed.
    kept = ids["submissions"][2:5] + ids["submissions"][7:10]
    assert _count(Submission, Submission.id.in_(kept)) == 6

    archives = sorted(retention.archive_dir(settings).glob("submissions-*.jsonl.gz"))
    assert len(archives) == 2
    records = [
        json.loads(line)
        for path in archives
        for line in gzip.decompress(path.read_bytes()).split(b"\n")
        if line
    ]
    archived = {r["submission"]["id"] for r in records}
    assert archived == set(ids["submissions"][0:2] + ids["submissions"][5:7])
    first = records[0]
    assert first["submission"]["text_content"].startswith("Memo")
    assert first["evaluations"][0]["rubric_scores"]["clarity"]["score"] == 4
    assert [m["role"] for m in first["evaluations"][0]["chat_sessions"][0]["messages"]] == [
        "user",
        "assistant",
    ]
    # Running again finds nothing more to do.
    assert retention.trim_submissions(settings) == 0


def test_old_temporary_and_rotated_log_files_are_removed(
    sqlite_env: OpsEnv, in_process: Any
) -> None:
    sqlite_env.env.update(FILE_LOGGING="true", LOG_RETENTION_DAYS="7")
    in_process(sqlite_env)
    settings = get_settings()
    tmp = settings.temp_dir
    (tmp / "export").mkdir(parents=True)
    old, fresh = tmp / "export" / "old.pdf", tmp / "fresh.pdf"
    logs = settings.runtime.data_dir / "logs"
    logs.mkdir(parents=True)
    live, rotated, recent = logs / "api.log", logs / "api.log.2026-01-01.gz", logs / "api.log.1"
    for path in (old, fresh, live, rotated, recent):
        path.write_text("x")
    day = 86400
    for path, age in ((old, 2 * day), (live, 30 * day), (rotated, 9 * day), (recent, 2 * day)):
        os.utime(path, (time.time() - age, time.time() - age))

    assert retention.clean_temp_files(settings) == 1
    assert retention.clean_log_files(settings) == 1
    assert [p.exists() for p in (old, fresh)] == [False, True]
    assert [p.exists() for p in (live, recent, rotated)] == [True, True, False]


def test_run_all_reports_each_step_and_uses_cache_hooks(db_env: OpsEnv) -> None:
    calls: list[str] = []

    def hook(_settings: Any) -> int:
        calls.append("progress")
        return 5

    retention.register_cache_hook("test", hook)
    try:
        result = retention.run_all(get_settings())
    finally:
        retention._cache_hooks.pop("test")
    assert calls == ["progress"]
    assert result["progress_cache"] == 5
    assert set(result) >= {
        "sessions",
        "idempotency_keys",
        "api_tokens",
        "submissions",
        "temp_files",
        "log_files",
    }


def test_cleanup_tolerates_a_missing_temp_directory(sqlite_env: OpsEnv, in_process: Any) -> None:
    in_process(sqlite_env)
    assert not Path(get_settings().temp_dir).exists()
    assert retention.clean_temp_files(get_settings()) == 0
