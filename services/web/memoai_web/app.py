"""The web service: the app's page, its static files, /health, /metrics and,
in development, the /api proxy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import structlog
from fastapi import FastAPI, Request, Response
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse

from memoai import __version__
from memoai.config import Settings, get_settings
from memoai.documents.schemas import Limits
from memoai.platform import metrics
from memoai.platform.asgi import RequestContextMiddleware
from memoai.platform.logging import configure_logging
from memoai_web import examples, i18n
from memoai_web.assets import AssetMiddleware, Bundle
from memoai_web.pages import Page
from memoai_web.proxy import ApiProxy
from memoai_web.security import SecurityHeadersMiddleware

log = structlog.get_logger(__name__)
UPLOAD_PATH = "/api/v1/documents/extract"


def create_app(
    settings: Settings | None = None,
    *,
    upstream: httpx.AsyncBaseTransport | None = None,
    bundle: Bundle | None = None,
) -> FastAPI:
    """`upstream` replaces the network transport to the API, `bundle` the assets (tests)."""
    settings = settings or get_settings()
    configure_logging(settings, "web")
    proxy = ApiProxy(
        settings.runtime.api_url,
        timeout=settings.frontend.performance.api_timeout,
        transport=upstream,
    )
    bundle = bundle or Bundle()
    page = Page(settings, bundle)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        log.info("web.started", version=__version__, api_url=settings.runtime.api_url)
        yield
        await proxy.aclose()

    app = FastAPI(
        title="Memo AI Coach web",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )

    @app.get("/")
    def index(request: Request) -> Response:
        lang = page.language(
            request.cookies.get(i18n.LANG_COOKIE), request.headers.get("accept-language")
        )
        has_session = settings.authentication.session.cookie_name in request.cookies
        has_login = settings.authentication.jwt.cookie_name in request.cookies
        plain, packed = page.encoded(lang, has_session, has_login)
        headers = {
            # The page names the versioned assets: it is revalidated, they need not be.
            "Cache-Control": "no-cache",
            "Vary": "Accept-Language, Cookie, Accept-Encoding",
        }
        if "gzip" in request.headers.get("accept-encoding", ""):
            headers["Content-Encoding"] = "gzip"
            return Response(packed, media_type="text/html; charset=utf-8", headers=headers)
        return Response(plain, media_type="text/html; charset=utf-8", headers=headers)

    @app.get("/health")
    def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok", "service": "web", "version": __version__}

    @app.get("/health/ready")
    async def ready() -> JSONResponse:
        """Readiness: the API behind /api answers its own readiness check."""
        try:
            upstream_status = (await proxy.client.get("/health/ready", timeout=2.0)).status_code
        except httpx.HTTPError:
            upstream_status = None
        ok = upstream_status == 200
        body = {
            "status": "ready" if ok else "degraded",
            "service": "web",
            "version": __version__,
            "checks": {"api": {"ok": ok, "status": upstream_status}},
        }
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        payload, content_type = metrics.render()
        return Response(payload, media_type=content_type)

    app.include_router(examples.router)
    app.add_api_route(
        "/api/{path:path}",
        proxy,
        methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"],
        include_in_schema=False,
    )

    # Proxied responses keep the API's own encoding: GZip skips a response that has one.
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(AssetMiddleware, bundle=bundle)  # already compressed: outside GZip
    app.add_middleware(SecurityHeadersMiddleware, cfg=settings.security.headers)
    app.add_middleware(
        RequestContextMiddleware,
        service="web",
        max_body=settings.backend.api_settings.max_request_size,
        # The API's document upload takes larger bodies than JSON routes; the
        # proxy must let them through to it (the API enforces the same limit).
        body_limits={UPLOAD_PATH: Limits.from_settings(settings).request_body},
        access_log=settings.backend.middleware.request_logging,
    )
    return app
