"""Who hears that an evaluation reached a final state (completed or failed).

Evaluation sits below the notifiers (webhooks today), so it cannot call them; they
subscribe here, once, where a process is put together (the worker's Celery app).
A listener's failure is logged and never undoes the stored result.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

log = structlog.get_logger(__name__)

FinalListener = Callable[[str], object]
_listeners: list[FinalListener] = []


def on_final(listener: FinalListener) -> None:
    """Call `listener(evaluation_id)` after each evaluation's final state is committed."""
    if listener not in _listeners:
        _listeners.append(listener)


def final(evaluation_id: str) -> None:
    for listener in list(_listeners):
        try:
            listener(evaluation_id)
        except Exception:
            log.exception(
                "evaluation.listener_failed",
                listener=getattr(listener, "__qualname__", repr(listener)),
            )
