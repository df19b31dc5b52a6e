"""The worker's Celery app. Configuration errors stop it here, with file and field."""

from __future__ import annotations

import sys
from datetime import timedelta

from memoai.config import get_settings
from memoai.platform.logging import configure_logging
from memoai.platform.queue import TaskName, create_celery
from memoai.webhooks import delivery as webhook_delivery

settings = get_settings()
SERVICE = "beat" if "beat" in sys.argv[1:3] else "worker"
configure_logging(settings, SERVICE)
app = create_celery(settings, "memoai-worker")
# Evaluations finish and assignments come due in this process; webhooks hear of
# it through the event hooks.
webhook_delivery.subscribe()
app.conf.include = [
    "memoai_worker.tasks.evaluations",
    "memoai_worker.tasks.chat",
    "memoai_worker.tasks.maintenance",
    "memoai_worker.tasks.webhooks",
    "memoai_worker.tasks.batches",
    "memoai_worker.tasks.admin",
    "memoai_worker.tasks.cohorts",
]
# A backup may run for a long time on a big database; it gets its own limit.
BACKUP_TIME_LIMIT = 3600
_backup = settings.database.backup
# Beat asks every few minutes whether a backup is due rather than firing once a
# day: a beat restart (its schedule file lost, or a deploy at the wrong hour)
# then never skips a day, and the task itself knows the newest backup's age.
_backup_check = min(_backup.interval, 900)
_cleanup_every = settings.backend.file_serving.cleanup_interval

app.conf.beat_schedule = {
    "sweep-stuck-evaluations": {
        "task": TaskName.SWEEP.value,
        "schedule": timedelta(seconds=settings.backend.queue.sweep_interval),
        "options": {"expires": settings.backend.queue.sweep_interval},
    },
    "webhook-retries": {
        "task": TaskName.WEBHOOKS_DUE.value,
        "schedule": timedelta(seconds=settings.security.webhooks.retry_interval),
        "options": {"expires": settings.security.webhooks.retry_interval},
    },
    "message-batches": {
        "task": TaskName.BATCH_POLL.value,
        "schedule": timedelta(seconds=settings.llm.performance.batch_poll_interval),
        "options": {"expires": settings.llm.performance.batch_poll_interval},
    },
    "assignments-due": {
        "task": TaskName.ASSIGNMENTS_DUE.value,
        "schedule": timedelta(seconds=settings.backend.cohorts.due_check_interval),
        "options": {"expires": settings.backend.cohorts.due_check_interval},
    },
    "retention-cleanup": {
        "task": TaskName.CLEANUP.value,
        "schedule": timedelta(seconds=_cleanup_every),
        "options": {"expires": max(_cleanup_every - 1, 1)},
    },
}
if _backup.enabled:
    app.conf.beat_schedule["backup-if-due"] = {
        "task": TaskName.BACKUP.value,
        "schedule": timedelta(seconds=_backup_check),
        "options": {"expires": max(_backup_check - 1, 1)},
    }
app.conf.beat_schedule_filename = str(settings.runtime.data_dir / "celerybeat-schedule")

from memoai_worker import signals  # noqa: E402,F401  (connects the signal handlers)
