"""Every query the administration services make."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session as DbSession

from memoai.models import AppSetting, ConfigVersion, Evaluation, Session, User, utcnow

# ------------------------------------------------------------ config versions


def latest_version(db: DbSession, config_type: str) -> ConfigVersion | None:
    return db.scalars(
        select(ConfigVersion)
        .where(ConfigVersion.config_type == config_type)
        .order_by(ConfigVersion.version_number.desc())
        .limit(1)
    ).first()


def latest_versions(db: DbSession) -> dict[str, ConfigVersion]:
    newest = (
        select(ConfigVersion.config_type, func.max(ConfigVersion.version_number).label("n"))
        .group_by(ConfigVersion.config_type)
        .subquery()
    )
    rows = db.scalars(
        select(ConfigVersion).join(
            newest,
            (ConfigVersion.config_type == newest.c.config_type)
            & (ConfigVersion.version_number == newest.c.n),
        )
    ).all()
    return {row.config_type: row for row in rows}


def add_version(
    db: DbSession,
    *,
    config_type: str,
    version_number: int,
    content: str,
    content_sha256: str,
    previous_content: str | None,
    action: str,
    change_reason: str | None,
    changed_by: str | None,
    changed_by_user_id: str | None,
    rollback_of_version_id: int | None = None,
) -> ConfigVersion:
    row = ConfigVersion(
        config_type=config_type,
        version_number=version_number,
        content=content,
        content_sha256=content_sha256,
        previous_content=previous_content,
        action=action,
        change_reason=change_reason,
        changed_by=changed_by,
        changed_by_user_id=changed_by_user_id,
        rollback_of_version_id=rollback_of_version_id,
    )
    db.add(row)
    db.flush()
    return row


def history(db: DbSession, config_type: str, limit: int) -> Sequence[ConfigVersion]:
    return db.scalars(
        select(ConfigVersion)
        .where(ConfigVersion.config_type == config_type)
        .order_by(ConfigVersion.version_number.desc())
        .limit(limit)
    ).all()


def version_by_id(db: DbSession, config_type: str, version_id: int) -> ConfigVersion | None:
    return db.scalars(
        select(ConfigVersion).where(
            ConfigVersion.id == version_id, ConfigVersion.config_type == config_type
        )
    ).first()


# ------------------------------------------------------------ sessions


def list_sessions(
    db: DbSession, *, active: bool, kind: str | None, limit: int, offset: int
) -> tuple[Sequence[tuple[Session, str | None]], int]:
    conditions: list[Any] = []
    if active:
        conditions += [Session.revoked_at.is_(None), Session.expires_at > utcnow()]
    if kind:
        conditions.append(Session.kind == kind)
    total = db.scalar(select(func.count()).select_from(Session).where(*conditions)) or 0
    rows = db.execute(
        select(Session, User.username)
        .outerjoin(User, User.id == Session.user_id)
        .where(*conditions)
        .order_by(Session.last_activity_at.desc(), Session.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return [(row[0], row[1]) for row in rows], total


def session_by_id(db: DbSession, session_id: str) -> Session | None:
    return db.get(Session, session_id)


# ------------------------------------------------------------ evaluations (debug)


def recent_evaluations(
    db: DbSession, *, limit: int, evaluation_id: str | None
) -> Sequence[Evaluation]:
    query = select(Evaluation)
    if evaluation_id is not None:
        query = query.where(Evaluation.id == evaluation_id)
    return db.scalars(query.order_by(Evaluation.created_at.desc()).limit(limit)).all()


# ------------------------------------------------------------ app_settings keys


def settings_with_prefix(db: DbSession, prefix: str) -> Sequence[AppSetting]:
    return db.scalars(select(AppSetting).where(AppSetting.key.startswith(prefix))).all()


def put_setting(db: DbSession, key: str, value: Any) -> None:
    row = db.get(AppSetting, key)
    if row is None:
        db.add(AppSetting(key=key, value=value, updated_by="system"))
    else:
        row.value = value
        row.updated_at = utcnow()


def get_setting(db: DbSession, key: str) -> Any:
    row = db.get(AppSetting, key)
    return None if row is None else row.value


def delete_settings(db: DbSession, *keys: str) -> None:
    db.execute(delete(AppSetting).where(AppSetting.key.in_(keys)))


def delete_settings_older(db: DbSession, prefix: str, before: datetime) -> None:
    db.execute(
        delete(AppSetting).where(AppSetting.key.startswith(prefix), AppSetting.updated_at < before)
    )
