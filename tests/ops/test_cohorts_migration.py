"""The issue-16 migration (20261202_cohorts) on both engines, with data in the tables:
users keep their rights through upgrade and downgrade, and the username index survives."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from memoai.platform.db import build_engine
from memoai.platform.migrate import current_revision, downgrade, upgrade
from tests.ops.conftest import OpsEnv

pytestmark = pytest.mark.integration

BEFORE = "0002_users_lower"
REVISION = "20261202_cohorts"
NEW_TABLES = {
    "cohorts",
    "cohort_members",
    "assignments",
    "reviews",
    "review_comments",
    "review_changes",
}


def _add_user(engine: Engine, user_id: str, username: str, **role: object) -> None:
    now = datetime(2026, 11, 30, tzinfo=UTC).replace(tzinfo=None)
    columns = ", ".join(role)
    values = ", ".join(f":{k}" for k in role)
    with engine.begin() as conn:
        conn.execute(
            text(
                # Column names are this test's own keyword names (role or is_admin).
                "INSERT INTO users (id, username, password_hash, is_active, failed_login_count, "  # noqa: S608
                f"updated_at, created_at, {columns}) "
                f"VALUES (:id, :username, 'x', :active, 0, :now, :now, {values})"
            ),
            {"id": user_id, "username": username, "active": True, "now": now, **role},
        )


def _columns(engine: Engine, table: str) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns(table)}


def test_roles_survive_upgrade_and_downgrade(ops_env: OpsEnv) -> None:
    engine = build_engine(ops_env.settings())
    try:
        upgrade(engine, BEFORE)
        _add_user(engine, "u-admin", "Boss", is_admin=True)
        _add_user(engine, "u-writer", "writer", is_admin=False)

        upgrade(engine, REVISION)
        assert current_revision(engine) == REVISION
        assert set(inspect(engine).get_table_names()) >= NEW_TABLES
        assert "is_admin" not in _columns(engine, "users")
        assert "assignment_id" in _columns(engine, "evaluations")
        assert {"subject", "payload"} <= _columns(engine, "webhook_deliveries")
        with engine.connect() as conn:
            roles = dict(conn.execute(text("SELECT id, role FROM users")).all())
        assert roles == {"u-admin": "admin", "u-writer": "user"}
        # A new account gets the column default; the case-insensitive index still holds.
        _add_user(engine, "u-coach", "coach", role="coach")
        with pytest.raises(IntegrityError):
            _add_user(engine, "u-dup", "BOSS", role="user")

        downgrade(engine, BEFORE)
        assert current_revision(engine) == BEFORE
        assert not NEW_TABLES & set(inspect(engine).get_table_names())
        assert "role" not in _columns(engine, "users")
        assert "assignment_id" not in _columns(engine, "evaluations")
        with engine.connect() as conn:
            admins = dict(conn.execute(text("SELECT id, is_admin FROM users")).all())
        # A coach becomes a plain user again; the admin stays an admin.
        assert {k: bool(v) for k, v in admins.items()} == {
            "u-admin": True,
            "u-writer": False,
            "u-coach": False,
        }
        with pytest.raises(IntegrityError):
            _add_user(engine, "u-dup", "WRITER", is_admin=False)

        upgrade(engine)
        with engine.connect() as conn:
            roles = dict(conn.execute(text("SELECT id, role FROM users")).all())
        assert roles == {"u-admin": "admin", "u-writer": "user", "u-coach": "user"}
    finally:
        engine.dispose()
