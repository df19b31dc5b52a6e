"""The status poll without the router and the dependency solver.

A client polls `GET /api/v1/evaluations/{id}/status` about once a second while
its memo is evaluated, so this is most of the API's traffic. Through FastAPI
the request walks every included router's patterns and solves eight
dependencies, which cost more CPU than the database read itself (the profile in
docs/benchmarks.md). Here the same steps run directly, in the same order and
through the same functions: the per-IP limit, the credential, `admit` (CSRF
cookie refresh, the caller's limit), the status read, the envelope. Errors
are answered by the app's own exception handlers, and anything unusual (an id
the route would refuse, another method) goes on to the route, so the answers
are the route's answers; tests/integration/test_fastpath.py compares them byte
for byte. The route stays declared for OpenAPI and is what runs when this is
not installed.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from pydantic import TypeAdapter
from starlette.types import ASGIApp, Receive, Scope, Send

from memoai.config import Settings, get_settings
from memoai.evaluation.schemas import StatusPublic
from memoai.platform.db import read_connection
from memoai.platform.errors import MemoError
from memoai.platform.identity import Principal
from memoai_api.deps import admit, limit_requests_by_ip, resolve_credential
from memoai_api.envelope import Envelope, ok
from memoai_api.routes import API_PREFIX, evaluations
from memoai_api.routes.evaluations import EVALUATION_ID_MAX, read_status
from memoai_api.threads import read

STATUS_PATH = re.compile(rf"^{API_PREFIX}/evaluations/(?P<evaluation_id>[^/]+)/status$")
_ENVELOPE = TypeAdapter(Envelope[StatusPublic])
Handler = Callable[[Request, Any], Response | Awaitable[Response]]


class StatusFastPath:
    """ASGI middleware, innermost of the app's own: redaction, headers, request id,
    metrics and the access log still wrap it."""

    def __init__(self, app: ASGIApp, *, api: FastAPI) -> None:
        self.app = app
        self.api = api
        # The route this answers for (the router sets it in the scope; the
        # metrics label is its path template).
        self.route = next(
            r
            for r in evaluations.router.routes
            if getattr(r, "path", None) == f"{API_PREFIX}/evaluations/{{evaluation_id}}/status"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            found = STATUS_PATH.match(scope["path"])
            if found is not None and len(found["evaluation_id"]) <= EVALUATION_ID_MAX:
                await self._status(scope, receive, send, found["evaluation_id"])
                return
        await self.app(scope, receive, send)

    async def _status(self, scope: Scope, receive: Receive, send: Send, evaluation_id: str) -> None:
        # What the router would have set: the route (the metrics label) and its params.
        scope["route"] = self.route
        scope["path_params"] = {"evaluation_id": evaluation_id}
        request = Request(scope, receive)
        headers = Response()  # collects rate-limit headers and a refreshed CSRF cookie
        del headers.headers["content-length"]
        settings = get_settings()
        limiter = self.api.state.limiter
        try:
            await limit_requests_by_ip(request, headers, limiter)
            # Both reads at once (on the loop on SQLite, else one thread hop); the
            # caller is admitted (CSRF, rate limit) before a read error counts, as
            # with the route's dependencies.
            principal, by_cookie, status = await read(
                _credential_and_status, request, settings, evaluation_id
            )
            await admit(request, headers, settings, limiter, principal, by_cookie)
            if isinstance(status, Exception):
                raise status
        except Exception as exc:
            handler = self._handler(exc)
            if handler is None:
                raise  # as from a route: ServerErrorMiddleware logs it and answers 500
            answer = handler(request, exc)
            if inspect.isawaitable(answer):
                answer = await answer
            await answer(scope, receive, send)
            return
        response = Response(_ENVELOPE.dump_json(ok(status)), media_type="application/json")
        response.raw_headers.extend(headers.raw_headers)
        await response(scope, receive, send)

    def _handler(self, exc: Exception) -> Handler | None:
        """The app's handler for this exception's class, as Starlette looks it up;
        the catch-all (Exception) one belongs to ServerErrorMiddleware."""
        for cls in type(exc).__mro__:
            if cls is Exception:
                return None
            if cls in self.api.exception_handlers:
                return self.api.exception_handlers[cls]
        return None


def _credential_and_status(
    request: Request, settings: Settings, evaluation_id: str
) -> tuple[Principal, bool, StatusPublic | MemoError]:
    with read_connection():  # one connection for both reads
        principal, by_cookie = resolve_credential(request, settings)  # 401 raises at once
        try:
            return principal, by_cookie, read_status(settings, principal, evaluation_id)
        except MemoError as exc:  # 404: raised after admit, as the route would
            return principal, by_cookie, exc
