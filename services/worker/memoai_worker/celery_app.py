"""The worker's Celery app. Configuration errors stop it here, with file and field."""

from __future__ import annotations

import sys
from datetime import timedelta

from memoai.config import get_settings
from memoai.logging import configure_logging
from memoai.queue import TaskName, create_celery

settings = get_settings()
SERVICE = "beat" if "beat" in sys.argv[1:3] else "worker"
configure_logging(settings, SERVICE)
app = create_celery(settings, "memoai-worker")
app.conf.include = [
    "memoai_worker.tasks.evaluations",
    "memoai_worker.tasks.maintenance",
]
app.conf.beat_schedule = {
    "sweep-stuck-evaluations": {
        "task": TaskName.SWEEP.value,
        "schedule": timedelta(seconds=settings.backend.queue.sweep_interval),
        "options": {"expires": settings.backend.queue.sweep_interval},
    },
}
app.conf.beat_schedule_filename = str(settings.runtime.data_dir / "celerybeat-schedule")

from memoai_worker import signals  # noqa: E402,F401  (connects the signal handlers)
