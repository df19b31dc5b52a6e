"""Beat schedules the backup check and the retention job (and keeps the sweeper)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.ops.conftest import OpsEnv

pytestmark = pytest.mark.integration

SCRIPT = r"""
import json
from memoai_worker.celery_app import app
from memoai_worker.tasks import maintenance
beat = app.conf.beat_schedule
schedule = {k: [v["task"], v["schedule"].total_seconds()] for k, v in beat.items()}
first = maintenance.backup_if_due()
second = maintenance.backup_if_due()
cleanup = maintenance.cleanup()
print(json.dumps({"schedule": schedule, "first": first, "second": second, "cleanup": cleanup,
                  "tasks": sorted(t for t in app.tasks if t.startswith("memoai."))}))
"""


def _run(ops: OpsEnv) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=ops.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_beat_schedule_and_the_jobs_it_runs(sqlite_env: OpsEnv) -> None:
    sqlite_env.memoai("migrate")
    out = _run(sqlite_env)
    schedule = out["schedule"]
    assert isinstance(schedule, dict)
    assert schedule["sweep-stuck-evaluations"] == ["memoai.sweep_stuck", 15.0]
    assert schedule["backup-if-due"] == ["memoai.backup", 900.0]
    assert schedule["retention-cleanup"] == ["memoai.cleanup", 3600.0]
    assert {"memoai.backup", "memoai.cleanup", "memoai.sweep_stuck"} <= set(out["tasks"])  # type: ignore[arg-type]
    # No backup yet: one is written; right after, the next check skips.
    assert out["first"]["outcome"] == "ok"  # type: ignore[index]
    assert out["second"]["outcome"] == "skipped"  # type: ignore[index]
    assert set(out["cleanup"]) >= {"sessions", "submissions", "temp_files"}  # type: ignore[arg-type]


def test_disabled_backups_are_not_scheduled(sqlite_env: OpsEnv) -> None:
    sqlite_env.memoai("migrate")
    sqlite_env.env["BACKUP_ENABLED"] = "false"
    out = _run(sqlite_env)
    assert "backup-if-due" not in out["schedule"]  # type: ignore[operator]
    assert out["first"]["outcome"] == "skipped"  # type: ignore[index]
