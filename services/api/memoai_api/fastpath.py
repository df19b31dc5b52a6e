"""The status poll, the result read, the history page and the submit without
the router and the dependency solver.

A client polls `GET /api/v1/evaluations/{id}/status` about once a second while
its memo is evaluated, so this is most of the API's traffic, and then reads
`GET /api/v1/evaluations/{id}` and its history page (`GET /api/v1/evaluations`)
once; these take only the caller (and the page's plain query parameters). Through FastAPI
the request walks every included router's patterns and solves eight
dependencies, which cost more CPU than the database read itself (the profile in
docs/benchmarks.md). Here the same steps run directly, in the same order and
through the same functions: the per-IP limit, the credential, `admit` (CSRF
cookie refresh, the caller's limit), the status read, the envelope. Errors
are answered by the app's own exception handlers, and anything unusual (an id
the route would refuse, another method) goes on to the route, so the answers
are the route's answers; tests/integration/test_fastpath.py compares them byte
for byte. The routes stay declared for OpenAPI and are what runs when this is
not installed.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request, Response
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import and_, bindparam, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from memoai.auth import repository as auth_repo
from memoai.auth import service as auth_service
from memoai.cohorts import feedback, submissions
from memoai.cohorts.schemas import EvaluationWithReviewResult, SummaryPage
from memoai.config import Settings, get_settings
from memoai.evaluation import repository as eval_repo
from memoai.evaluation import service as evaluation_service
from memoai.evaluation.schemas import EvaluationSubmit, StatusPublic, SubmitResult
from memoai.models import Evaluation, EvaluationStatus, Session, User
from memoai.platform.db import read_connection
from memoai.platform.errors import MemoError
from memoai.platform.identity import Principal
from memoai.platform.storable import storable
from memoai.sessions import service as sessions
from memoai_api.deps import (
    admit,
    credential_of,
    limit_requests_by_ip,
    limit_submissions,
    login_principal,
    resolve_credential,
    session_principal,
)
from memoai_api.envelope import Envelope, ok, request_id
from memoai_api.routes import API_PREFIX, evaluations
from memoai_api.routes.evaluations import EVALUATION_ID_MAX, read_status
from memoai_api.threads import in_thread, read

EVALUATIONS = f"{API_PREFIX}/evaluations"
SUBMIT = f"{EVALUATIONS}/submit"
SUBMITTED = TypeAdapter(Envelope[SubmitResult])
# The reader gets the evaluation id, or the history page's parsed query.
Reader = Callable[[Settings, Principal, Any], Any]
# The history page's query parameters, as the route declares them.
HISTORY_STATUSES = frozenset(s.value for s in EvaluationStatus)
PLAIN_INT = re.compile(r"(?:0|[1-9][0-9]{0,6})")


@dataclass(frozen=True)
class _Shortcut:
    """One GET route taking only the caller and an evaluation id (or a plain query)."""

    path: re.Pattern[str]
    template: str  # the route's path (its metrics label)
    read: Reader
    envelope: TypeAdapter[Any]
    # A Core read shares the credential's connection; an ORM one (the result)
    # opens its session after that connection is back in the pool: nested, it
    # would take a second connection (on SQLite a fresh one, PRAGMAs and all).
    core: bool = True
    # The query string parsed as the route would, or None to leave the
    # request to the route (anything it would refuse or read differently).
    query: Callable[[bytes], Any] | None = None


def _result(_settings: Settings, principal: Principal, evaluation_id: str) -> Any:
    return evaluations.read_result(principal, evaluation_id)


def _history(_settings: Settings, principal: Principal, page: tuple[int, int, str | None]) -> Any:
    limit, offset, status = page
    with read_connection() as db:
        return feedback.list_own(db, principal, limit=limit, offset=offset, status=status)


def _history_query(raw: bytes) -> tuple[int, int, str | None] | None:
    """limit (1-100, default 20), offset (0-1,000,000, default 0) and status as
    plain values, each at most once; None for anything else, which the route
    answers (a 422, or a value pydantic reads more leniently)."""
    values: dict[str, str] = {}
    for key, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        if key in ("limit", "offset", "status"):
            if key in values:
                return None
            values[key] = value
    limit, offset = values.get("limit", "20"), values.get("offset", "0")
    status = values.get("status")
    if not (PLAIN_INT.fullmatch(limit) and PLAIN_INT.fullmatch(offset)):
        return None
    if not (1 <= int(limit) <= 100 and int(offset) <= 1_000_000):
        return None
    if status is not None and status not in HISTORY_STATUSES:
        return None
    return int(limit), int(offset), status


SHORTCUTS = (
    _Shortcut(
        re.compile(rf"^{EVALUATIONS}/(?P<evaluation_id>[^/]+)/status$"),
        f"{EVALUATIONS}/{{evaluation_id}}/status",
        read_status,
        TypeAdapter(Envelope[StatusPublic]),
    ),
    _Shortcut(
        re.compile(rf"^{EVALUATIONS}/(?P<evaluation_id>[^/]+)$"),
        f"{EVALUATIONS}/{{evaluation_id}}",
        _result,
        TypeAdapter(Envelope[EvaluationWithReviewResult]),
        core=False,
    ),
    _Shortcut(
        re.compile(rf"^{EVALUATIONS}$"),
        EVALUATIONS,
        _history,
        TypeAdapter(Envelope[SummaryPage]),
        query=_history_query,
    ),
)
Handler = Callable[[Request, Any], Response | Awaitable[Response]]


class StatusFastPath:
    """ASGI middleware, innermost of the app's own: redaction, headers, request id,
    metrics and the access log still wrap it."""

    def __init__(self, app: ASGIApp, *, api: FastAPI) -> None:
        self.app = app
        self.api = api
        # The route each shortcut answers for (the router sets it in the scope;
        # the metrics label is its path template).
        routes = {
            getattr(r, "path", None): r
            for r in evaluations.router.routes
            if "GET" in (getattr(r, "methods", None) or ())
        }
        self.shortcuts = [(s, routes[s.template]) for s in SHORTCUTS]
        self.submit_route = next(
            r
            for r in evaluations.router.routes
            if getattr(r, "path", None) == SUBMIT and "POST" in getattr(r, "methods", ())
        )
        for shortcut in SHORTCUTS:  # a literal GET route the pattern would steal
            for path, route in routes.items():
                methods = getattr(route, "methods", None) or set()
                if (
                    "GET" in methods
                    and path != shortcut.template
                    and shortcut.path.match(path or "")
                ):
                    raise RuntimeError(f"the fast path for {shortcut.template} would answer {path}")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            for shortcut, route in self.shortcuts:
                found = shortcut.path.match(scope["path"])
                if found is None:
                    continue
                if shortcut.query is not None:
                    page = shortcut.query(scope["query_string"])
                    if page is not None:
                        await self._answer(scope, receive, send, shortcut, route, page)
                        return
                elif len(found["evaluation_id"]) <= EVALUATION_ID_MAX:
                    await self._answer(scope, receive, send, shortcut, route, found[1])
                    return
                break  # the route refuses it (422)
        elif scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == SUBMIT:
            await self._submit(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _submit(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_json(scope):
            await self.app(scope, receive, send)  # the route's 415
            return
        messages, raw = await _read_body(receive)
        body = _submission(raw) if raw is not None else None
        if body is None:
            await self.app(scope, _replay(messages, receive), send)
            return
        scope["route"] = self.submit_route
        scope["path_params"] = {}
        request = Request(scope, _replay(messages, receive))
        headers = Response()
        del headers.headers["content-length"]
        settings = get_settings()
        limiter = self.api.state.limiter
        try:
            # The route's dependencies in the route's order: the per-IP limit,
            # the caller (credential, CSRF, scope, its limit), the submission limit.
            await limit_requests_by_ip(request, headers, limiter)
            principal, by_cookie = await read(resolve_credential, request, settings)
            principal = await admit(request, headers, settings, limiter, principal, by_cookie)
            await limit_submissions(request, headers, principal, limiter)
            result, replayed = await in_thread(
                submissions.submit,
                settings,
                principal,
                body,
                request_id(),
                request.headers.get("idempotency-key"),
            )
        except Exception as exc:  # noqa: BLE001 - _fail re-raises what has no handler
            await self._fail(scope, receive, send, request, exc)
            return
        if replayed:
            headers.headers["Idempotent-Replayed"] = "true"
        response = Response(
            SUBMITTED.dump_json(ok(result)), status_code=202, media_type="application/json"
        )
        response.raw_headers.extend(headers.raw_headers)
        await response(scope, receive, send)

    async def _fail(
        self, scope: Scope, receive: Receive, send: Send, request: Request, exc: Exception
    ) -> None:
        handler = self._handler(exc)
        if handler is None:
            raise exc  # as from a route: ServerErrorMiddleware logs it and answers 500
        answer = handler(request, exc)
        if inspect.isawaitable(answer):
            answer = await answer
        await answer(scope, receive, send)

    async def _answer(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        shortcut: _Shortcut,
        route: Any,
        key: Any,
    ) -> None:
        # What the router would have set: the route (the metrics label) and its params.
        scope["route"] = route
        scope["path_params"] = {} if shortcut.query is not None else {"evaluation_id": key}
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
            principal, by_cookie, found = await read(
                _credential_and_read, shortcut, request, settings, key
            )
            await admit(request, headers, settings, limiter, principal, by_cookie)
            if isinstance(found, Exception):
                raise found
        except Exception as exc:  # noqa: BLE001 - _fail re-raises what has no handler
            await self._fail(scope, receive, send, request, exc)
            return
        response = Response(shortcut.envelope.dump_json(ok(found)), media_type="application/json")
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


def _credential_and_read(
    shortcut: _Shortcut, request: Request, settings: Settings, key: Any
) -> tuple[Principal, bool, Any]:
    if shortcut.read is read_status:
        found = _credential_and_status(request, settings, key)
        if found is not None:
            return found
    with read_connection():  # the credential, and a Core read on the same connection
        principal, by_cookie = resolve_credential(request, settings)  # 401 raises at once
        if shortcut.core:
            return principal, by_cookie, _attempt(shortcut, settings, principal, key)
    return principal, by_cookie, _attempt(shortcut, settings, principal, key)


# The status poll's credential and its evaluation in one statement: the
# credential's own lookup, with the caller's evaluation LEFT JOINed (all NULL
# when it is not theirs). One round trip instead of two, on the request
# that is most of the API's traffic (docs/benchmarks.md, eighth pass).
def _status_along(*credential: Any) -> Any:
    return select(*credential, *eval_repo.STATUS_COLUMNS)


_SESSION_AND_STATUS = (
    _status_along(*sessions.LOOKUP_COLUMNS)
    .select_from(Session)
    .outerjoin(
        Evaluation,
        and_(Evaluation.id == bindparam("evaluation_id"), Evaluation.session_id == Session.id),
    )
    .where(*sessions.LOOKUP_WHERE)
)


def _login_and_status(where: tuple[Any, ...]) -> Any:
    return (
        _status_along(*auth_repo.LOGIN_COLUMNS)
        .select_from(Session)
        .join(User, User.id == Session.user_id)
        .outerjoin(
            Evaluation,
            and_(Evaluation.id == bindparam("evaluation_id"), Evaluation.user_id == User.id),
        )
        .where(*where)
    )


_LOGIN_BY_ID_AND_STATUS = _login_and_status(auth_repo.LOGIN_BY_ID_WHERE)
_LOGIN_BY_HASH_AND_STATUS = _login_and_status(auth_repo.LOGIN_BY_HASH_WHERE)


def _credential_and_status(
    request: Request, settings: Settings, evaluation_id: str
) -> tuple[Principal, bool, Any] | None:
    """resolve_credential and read_status in one statement, or None to read
    them in two (an API token, an id no row can have). The same answers: the
    credential's 401s raise at once, the status's 404 is returned."""
    credential = credential_of(request, settings)
    if credential.kind == "api_token" or not storable(evaluation_id):
        return None
    with read_connection() as db:
        if credential.kind == "session":
            parameters = sessions.lookup_parameters(credential.token)
            row = None
            if parameters is not None:
                parameters["evaluation_id"] = evaluation_id
                row = db.execute(_SESSION_AND_STATUS, parameters).first()
            principal = session_principal(sessions.token_session(row), settings)
        else:
            key = auth_service.login_key(settings, credential.token)
            row = None
            if key is not None:
                statement = (
                    _LOGIN_BY_HASH_AND_STATUS if key.session_id is None else _LOGIN_BY_ID_AND_STATUS
                )
                row = db.execute(
                    statement, {**key.parameters, "evaluation_id": evaluation_id}
                ).first()
            found = (
                None
                if key is None
                else auth_service.principal_of_login(row, key, credential.method)
            )
            principal = login_principal(found, settings)
        try:
            status: Any = evaluation_service.status_of_row(db, settings, row)
        except MemoError as exc:  # the 404, raised after admit as the route would
            status = exc
    return principal, credential.by_cookie, status


def _attempt(shortcut: _Shortcut, settings: Settings, principal: Principal, key: Any) -> Any:
    try:
        return shortcut.read(settings, principal, key)
    except MemoError as exc:  # 404 / 425: raised after admit, as the route would
        return exc


def _is_json(scope: Scope) -> bool:
    """A type both require_json and FastAPI's body parser take as JSON:
    application/json or application/*+json (others go to the route)."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            media: str = value.decode("latin-1").split(";", 1)[0].strip().lower()
            return media == "application/json" or (
                media.startswith("application/") and media.endswith("+json")
            )
    return False


async def _read_body(receive: Receive) -> tuple[list[Message], bytes | None]:
    """The request's messages, and its body (None if the client went away)."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    while True:
        message = await receive()  # the body limit's wrapper raises past the limit
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return messages, b"".join(chunks)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A receive that gives the messages already read, then the real ones."""
    pending = list(messages)

    async def again() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return again


def _submission(raw: bytes) -> EvaluationSubmit | None:
    """The body as the route would parse it (json.loads, then the model), or
    None where the route would answer an error."""
    if not raw:
        return None
    try:
        return EvaluationSubmit.model_validate(json.loads(raw))
    except (ValueError, ValidationError):  # JSONDecodeError and UnicodeDecodeError too
        return None
