"""Tasks for the admin self-test."""

from __future__ import annotations

import socket

from memoai.admin import workers
from memoai.platform.queue import TaskName
from memoai_worker.celery_app import app


# Acked on receipt and short-lived: a lost ping is a failed self-test, nothing more.
@app.task(name=TaskName.PING.value, acks_late=False, expires=60)
def ping(token: str) -> None:
    """Answer the API's broker round trip by writing the token back."""
    workers.answer_ping(token[:48], ping.request.hostname or socket.gethostname())
