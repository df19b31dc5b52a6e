"""The API application factory."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
import structlog
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware

from memoai import __version__, state_metrics
from memoai.asgi import RequestContextMiddleware
from memoai.config import Settings, business_config, get_settings
from memoai.logging import configure_logging
from memoai_api import errors
from memoai_api.routes import (
    batches,
    chat,
    coaching,
    evaluations,
    health,
    public_config,
    sessions,
    webhooks,
)

log = structlog.get_logger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings, "api")
    state_metrics.install(database=True, backups=False)
    docs = settings.auth.api_documentation.openapi

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        business_config()  # fail fast on an invalid business file
        # Sync routes run in this pool. More threads than CPU work available
        # only adds GIL contention and database-pool waits under load.
        threads = int(os.environ.get("API_THREADS", settings.backend.workers.thread_count))
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        log.info(
            "api.started",
            version=__version__,
            env=settings.runtime.app_env,
            provider=settings.llm_provider,
            database="sqlite" if settings.is_sqlite else "postgresql",
            broker="embedded" if settings.uses_embedded_broker else "redis",
        )
        yield

    app = FastAPI(
        title=docs.title,
        version=docs.version,
        description=docs.description,
        docs_url="/docs" if docs.interactive_docs else None,
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    for router in (
        sessions.router,
        evaluations.router,
        coaching.router,
        chat.router,
        webhooks.router,
        batches.router,
        public_config.router,
        health.router,
    ):
        app.include_router(router)
    errors.install(app)

    backend = settings.backend
    if backend.middleware.gzip_compression:
        app.add_middleware(GZipMiddleware, minimum_size=1024)
    if backend.api_settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=backend.api_settings.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
            allow_headers=[
                "Content-Type",
                "X-Session-ID",
                "X-CSRF-Token",
                "X-Request-ID",
                "Authorization",
                "Idempotency-Key",
            ],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    # Outermost: every response, including errors, gets a request id and metrics.
    app.add_middleware(
        RequestContextMiddleware,
        service="api",
        max_body=backend.api_settings.max_request_size,
        access_log=backend.middleware.request_logging,
    )
    return app
