"""Per-process set-up for the worker: logging, database engine, metrics endpoint."""

from __future__ import annotations

import os
from typing import Any

import structlog
from celery import signals
from prometheus_client import start_http_server

from memoai.admin.workers import Heartbeat
from memoai.config import business_config, get_settings
from memoai.llm.factory import get_provider
from memoai.operations import state_metrics
from memoai.platform import gctune, metrics
from memoai.platform.db import dispose_engine
from memoai.platform.queue import TaskName, publish

log = structlog.get_logger(__name__)
_heartbeat: Heartbeat | None = None


@signals.setup_logging.connect
def _setup_logging(**_: Any) -> None:
    # Connecting to this signal stops Celery from configuring logging itself;
    # ours was set up when the app module was imported.
    return None


@signals.worker_process_init.connect
def _child_init(**_: Any) -> None:
    # A forked child must not reuse the parent's database connections.
    dispose_engine()
    gctune.tune_after_startup("worker-child")


@signals.beat_init.connect
def _beat_init(**_: Any) -> None:
    gctune.tune_after_startup("beat")


@signals.worker_init.connect
def _worker_init(**_: Any) -> None:
    settings = get_settings()
    port = settings.monitoring.metrics.worker_port
    if settings.monitoring.metrics.enabled and port:
        # Before the server starts: in multiprocess mode its registry is built once.
        state_metrics.install(database=True, backups=True)
        start_http_server(port, addr=settings.runtime.api_host, registry=metrics.registry())
        log.info("worker.metrics_listening", port=port)


@signals.worker_ready.connect
def _ready(sender: Any = None, **_: Any) -> None:
    settings = get_settings()
    # Warm up before the first message: building the provider imports its SDK
    # (about a second), and every task arriving meanwhile would wait for it.
    get_provider(settings)
    business_config()
    # Recover at once what a crashed predecessor left behind, instead of
    # waiting for beat's next tick.
    publish(TaskName.SWEEP)
    metrics.WORKER_UP.set(1)
    global _heartbeat
    _heartbeat = Heartbeat(str(getattr(sender, "hostname", None) or "worker"), os.getpid())
    gctune.tune_after_startup("worker")
    _heartbeat.start()
    log.info(
        "worker.ready",
        provider=settings.llm_provider,
        broker="embedded" if settings.uses_embedded_broker else "redis",
        database="sqlite" if settings.is_sqlite else "postgresql",
    )


@signals.worker_shutdown.connect
def _shutdown(**_: Any) -> None:
    # Leave the status page at once rather than when the heartbeat ages out.
    if _heartbeat is not None:
        _heartbeat.stop()
