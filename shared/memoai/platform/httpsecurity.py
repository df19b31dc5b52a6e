"""HTTP security headers for every response of a service (pure ASGI, cheap).

The API serves JSON only, so its policy forbids everything a browser could
load from a response; the interactive docs page needs its scripts, and gets
a policy of its own.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from memoai.config.schemas import Headers

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Swagger UI and ReDoc, served from this origin (the pages add their inline
# bootstrap script's hash themselves, see memoai_api.docs).
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")


class SecurityHeadersMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        headers: Headers,
        csp: str | None = API_CSP,
        no_store_prefix: str | None = None,
    ) -> None:
        self.app = app
        self.csp = csp if headers.content_security_policy else None
        self.no_store_prefix = no_store_prefix
        common: list[tuple[bytes, bytes]] = [
            (b"x-content-type-options", headers.x_content_type_options.encode()),
            (b"x-frame-options", headers.x_frame_options.encode()),
            (b"referrer-policy", headers.referrer_policy.encode()),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        ]
        if headers.https_only and headers.hsts_enabled:
            # Only behind TLS: over plain HTTP the header is ignored anyway, and
            # sending it from a development box would pin localhost to HTTPS.
            common.append(
                (
                    b"strict-transport-security",
                    f"max-age={headers.hsts_max_age}; includeSubDomains".encode(),
                )
            )
        self.common = common

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        extra = list(self.common)
        if self.csp:
            csp = DOCS_CSP if path.startswith(DOCS_PATHS) else self.csp
            extra.append((b"content-security-policy", csp.encode()))
        if self.no_store_prefix and path.startswith(self.no_store_prefix):
            # Responses carry tokens and private memos: no shared or disk caches.
            extra.append((b"cache-control", b"no-store"))

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *((k, v) for k, v in extra if k not in present),
                ]
            await send(message)

        await self.app(scope, receive, send_wrapper)
