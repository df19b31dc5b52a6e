"""In-process evaluation: the API's submit and the worker's pipeline in one process.

The memo is stored through the evaluation service (same validation, same rows,
so it is in the history) and `pipeline.process` runs here instead of in a
worker. It is submitted with `publish=False`: no broker message exists, so no
worker evaluates it again. If the CLI dies mid-way, the evaluation is left as a
dead worker would leave it: its lease runs out and the sweeper of a running
stack hands it to a worker.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from memoai import __version__
from memoai.config import Settings
from memoai_cli.runners import FINAL, InputError, Progress, TimedOut, Unreachable

if TYPE_CHECKING:
    from memoai.platform.identity import Principal

T = TypeVar("T")
CLI_SESSION_FILE = "cli_session"


class LocalRunner:
    """The embedded defaults of `make run`: same DATA_DIR, database and provider selection."""

    def __init__(self, settings: Settings, username: str | None) -> None:
        self.settings = settings
        self.max_length = settings.security.input_validation.max_text_length
        self.username = username
        self.session_file = settings.runtime.data_dir / CLI_SESSION_FILE
        _database_errors(self._migrate)
        self.principal = _database_errors(self._principal)
        # Whoever the memo belongs to hears about it as from a worker (webhooks).
        from memoai.webhooks import delivery

        delivery.subscribe()

    def _migrate(self) -> None:
        from alembic.script import ScriptDirectory

        from memoai.platform.db import get_engine
        from memoai.platform.migrate import alembic_config, current_revision, upgrade

        engine = get_engine()
        before = current_revision(engine)
        if before in ScriptDirectory.from_config(alembic_config()).get_heads():
            return
        upgrade(engine)
        print(
            f"Database migrated to revision {current_revision(engine)} (was {before or 'empty'}).",
            file=sys.stderr,
        )

    def _principal(self) -> Principal:
        from memoai.platform.identity import Principal

        if self.username is not None:
            return self._user(self.username)
        if self.settings.authentication.enabled:
            raise InputError(
                "AUTH_ENABLED=true: anonymous evaluations are switched off. "
                "Pass --user NAME to evaluate as that user (it goes into their history)."
            )
        return Principal(session_id=self._anonymous_session(), auth_method="session")

    def _user(self, username: str) -> Principal:
        from memoai.auth.repository import user_by_username
        from memoai.platform.db import session_scope
        from memoai.platform.identity import Principal

        with session_scope(write=False) as db:
            user = user_by_username(db, username)
            if user is None:
                raise InputError(
                    f"No user named {username!r} in this database. Create one in the web "
                    "app's Admin tab or with `memoai create-admin`."
                )
            if not user.is_active:
                raise InputError(f"The user {user.username!r} is deactivated.")
            # Whoever can run this command owns DATA_DIR and the database already,
            # so no password is asked (as with `memoai create-admin`).
            return Principal(
                session_id="cli",
                user_id=user.id,
                username=user.username,
                is_admin=user.is_admin,
                auth_method="local",
            )

    def _anonymous_session(self) -> str:
        """The CLI's own anonymous session, kept in DATA_DIR/cli_session between runs."""
        from memoai.platform.db import session_scope
        from memoai.sessions import service as sessions

        timeout = self.settings.authentication.session.timeout
        token = _read_token(self.session_file)
        with session_scope() as db:
            row = sessions.resolve_token(db, token) if token else None
            if row is not None and row.kind == "anonymous":
                sessions.touch(db, row.id, timeout)
                return row.id
            created = sessions.create_anonymous(
                db, timeout_seconds=timeout, ip=None, user_agent=f"memoai-cli/{__version__}"
            )
            session_id, token = created.session.id, created.token
        _write_token(self.session_file, token)
        return session_id

    def submit(self, text: str) -> str:
        import structlog

        from memoai.evaluation import service
        from memoai.evaluation.schemas import EvaluationSubmit
        from memoai.platform.db import session_scope

        request_id = uuid.uuid4().hex
        structlog.contextvars.bind_contextvars(request_id=request_id)

        def create() -> str:
            with session_scope() as db:
                result = service.submit(
                    db,
                    self.settings,
                    self.principal,
                    EvaluationSubmit(text_content=text),
                    request_id,
                    publish=False,
                )
            return result.evaluation_id

        return _database_errors(create)

    def wait(self, evaluation_id: str, progress: Progress, timeout: float) -> dict[str, Any]:
        from memoai.evaluation import pipeline

        crashed: list[BaseException] = []

        def work() -> None:
            try:
                pipeline.process(evaluation_id)
            except Exception as exc:  # noqa: BLE001 - reported by the polling loop below
                crashed.append(exc)

        # A thread, so that this one can show progress; daemon, so that Ctrl-C
        # is not held up by a model call (the lease then runs out, see above).
        thread = threading.Thread(target=work, name="memoai-evaluate", daemon=True)
        thread.start()
        deadline = time.monotonic() + timeout
        while True:
            status = _database_errors(lambda: self._status(evaluation_id))
            progress(status)
            if status["status"] in FINAL:
                break
            if crashed:
                raise Unreachable(f"The evaluation stopped: {type(crashed[0]).__name__}: "
                                  f"{crashed[0]}")  # fmt: skip
            if time.monotonic() > deadline:
                raise TimedOut(
                    f"Evaluation {evaluation_id} is still {status['status']} after {timeout:g} s."
                )
            # process() may return "skipped" (a worker of a running stack took it):
            # keep following it until it is final.
            thread.join(0.2)
        thread.join(5)
        return _database_errors(lambda: self._result(evaluation_id))

    def _status(self, evaluation_id: str) -> dict[str, Any]:
        from memoai.evaluation import service
        from memoai.platform.db import session_scope

        with session_scope(write=False) as db:
            status = service.status(db, self.settings, self.principal, evaluation_id)
        return status.model_dump(mode="json")

    def _result(self, evaluation_id: str) -> dict[str, Any]:
        # The API's writer view (with its coach-review overlay), so --json prints the API shape.
        from memoai.cohorts import feedback
        from memoai.platform.db import session_scope

        with session_scope(write=False) as db:
            return feedback.result(db, self.principal, evaluation_id).model_dump(mode="json")

    def where(self) -> str:
        runtime = self.settings.runtime
        host = "127.0.0.1" if runtime.web_host in ("0.0.0.0", "::") else runtime.web_host
        web = f"http://{host}:{runtime.web_port}"
        if self.principal.username:
            return (
                f"Saved in {self.principal.username}'s history: sign in as "
                f"{self.principal.username} at {web} to see it."
            )
        return (
            f"Saved in {runtime.data_dir} under the CLI's anonymous session "
            f"({self.session_file}). To have it in a web app history, evaluate with "
            f"--user NAME and sign in as NAME at {web}."
        )

    def close(self) -> None:
        from memoai.platform.db import dispose_engine

        dispose_engine()


def _read_token(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def _write_token(path: Path, token: str) -> None:
    # The token is a credential for this session's memos: readable by the owner only.
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    os.replace(temporary, path)


def _database_errors(fn: Callable[[], T]) -> T:
    """Database and domain errors as the command's failures (exit 2 or 3)."""
    from sqlalchemy.exc import DBAPIError

    from memoai.platform.errors import MemoError

    try:
        return fn()
    except DBAPIError as exc:
        raise Unreachable(f"The database is unreachable: {type(exc.orig).__name__}") from exc
    except MemoError as exc:
        if exc.status >= 500:
            raise Unreachable(exc.message) from exc
        raise InputError(exc.message) from exc
