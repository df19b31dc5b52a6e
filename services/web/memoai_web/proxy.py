"""Development reverse proxy: /api/* goes to the API, so the browser sees one origin.

Production puts nginx in front and never reaches this. Bodies stream both ways
(no buffering of memos or, later, chat streams); status codes, cookies (every
Set-Cookie) and the request id pass through unchanged.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx
import structlog
from prometheus_client import Counter
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

log = structlog.get_logger(__name__)

PROXY_ERRORS = Counter(
    "memoai_web_proxy_errors_total",
    "Requests the web service could not forward to the API",
    ["reason"],
)

# Connection-scoped headers (RFC 9110 §7.6.1) and those the proxy sets itself.
_HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"x-request-id",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
    }
)


class ApiProxy:
    def __init__(
        self,
        api_url: str,
        *,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.client = httpx.AsyncClient(
            base_url=api_url,
            # One client serves every browser: it must never keep a cookie from one
            # response and send it with another browser's request.
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            # Connecting is quick or the API is down; reading may wait on a slow answer.
            timeout=httpx.Timeout(timeout, connect=5.0),
            transport=transport,
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def __call__(self, request: Request) -> Response:
        request_id = _request_id()
        headers = [(k, v) for k, v in request.headers.raw if k.lower() not in _HOP_BY_HOP]
        client_host = request.client.host if request.client else ""
        headers += [
            (b"x-forwarded-for", client_host.encode("latin-1")),
            (b"x-forwarded-proto", request.url.scheme.encode("latin-1")),
            (b"x-forwarded-host", request.headers.get("host", "").encode("latin-1")),
        ]
        if request_id:
            headers.append((b"x-request-id", request_id.encode("latin-1")))
        # Stream only a real body; httpx then keeps the client's Content-Length.
        has_body = "transfer-encoding" in request.headers or request.headers.get(
            "content-length", "0"
        ) not in ("", "0")
        outgoing = self.client.build_request(
            request.method,
            httpx.URL(path=request.url.path, query=request.url.query.encode("latin-1")),
            headers=headers,
            content=request.stream() if has_body else None,
        )
        try:
            upstream = await self.client.send(outgoing, stream=True)
        except httpx.TimeoutException:
            return _failure(504, "upstream_timeout", "The API did not answer in time.", request_id)
        except httpx.HTTPError as exc:
            log.warning("web.proxy_failed", error=type(exc).__name__, path=request.url.path)
            return _failure(
                502, "upstream_unavailable", "The API cannot be reached right now.", request_id
            )
        response = StreamingResponse(
            upstream.aiter_raw(),
            status_code=upstream.status_code,
            background=BackgroundTask(upstream.aclose),
        )
        # Raw list, not a dict: several Set-Cookie headers must all arrive.
        response.raw_headers = [
            (k, v) for k, v in upstream.headers.raw if k.lower() not in _HOP_BY_HOP
        ]
        return response


def _request_id() -> str | None:
    value = structlog.contextvars.get_contextvars().get("request_id")
    return value if isinstance(value, str) else None


def _failure(status: int, code: str, message: str, request_id: str | None) -> Response:
    PROXY_ERRORS.labels(code).inc()
    body = {
        "data": None,
        "meta": {"timestamp": datetime.now(UTC).isoformat(), "request_id": request_id},
        "errors": [{"code": code, "message": message}],
    }
    return Response(json.dumps(body), status_code=status, media_type="application/json")
