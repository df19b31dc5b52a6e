"""Alembic on both engines: up to head, down to base, and models equal to migrations."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from memoai.models import Base
from memoai.platform.db import build_engine
from memoai.platform.migrate import alembic_config, current_revision, downgrade, upgrade
from tests.ops.conftest import OpsEnv

pytestmark = pytest.mark.integration


def _diff(engine: object) -> list[object]:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "render_as_batch": conn.dialect.name == "sqlite",
            },
        )
        return list(compare_metadata(context, Base.metadata))


def test_upgrade_to_head_and_downgrade_to_base(ops_env: OpsEnv) -> None:
    engine = build_engine(ops_env.settings())
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    try:
        upgrade(engine)
        assert current_revision(engine) == head
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())

        # The models match the migrations: autogenerate would find nothing to write.
        assert _diff(engine) == []

        downgrade(engine, "base")
        assert current_revision(engine) is None
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}

        # And back up again, as an upgrade after a rollback would.
        upgrade(engine)
        assert current_revision(engine) == head
        assert _diff(engine) == []
    finally:
        engine.dispose()


def test_every_revision_has_a_downgrade() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    for revision in script.walk_revisions():
        module = revision.module
        assert callable(getattr(module, "downgrade", None)), revision.revision
