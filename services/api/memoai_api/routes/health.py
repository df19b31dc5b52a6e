"""Liveness, readiness and Prometheus metrics (served at the root, not under /api/v1)."""

from __future__ import annotations

import time

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from memoai import __version__
from memoai.config import get_settings
from memoai.operations.health import readiness
from memoai.platform import metrics

router = APIRouter(tags=["operations"])
STARTED = time.monotonic()


@router.get("/health")
def health() -> dict[str, object]:
    """Liveness: the process answers."""
    return {"status": "ok", "service": "api", "version": __version__}


@router.get("/health/ready")
def ready() -> JSONResponse:
    """Readiness: the database and the broker are reachable (503 otherwise)."""
    settings = get_settings()
    ok, checks = readiness(settings)
    body = {
        "status": "ready" if ok else "degraded",
        "service": "api",
        "version": __version__,
        "uptime_seconds": round(time.monotonic() - STARTED, 1),
        "checks": checks,
        # Submissions are still accepted while the broker is down; they are
        # stored as queued and published when it returns.
        "accepting_submissions": checks["database"]["ok"],
    }
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get("/metrics", include_in_schema=False)
def prometheus_metrics() -> Response:
    payload, content_type = metrics.render()
    return Response(payload, media_type=content_type)
