"""Remote evaluation: a running service's REST API (`--api-url`), as any integrator uses it."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from memoai import __version__
from memoai_cli.runners import FINAL, InputError, NotAuthorised, Progress, TimedOut, Unreachable


class RemoteRunner:
    """A running service's REST API (`--api-url`), as any integrator would use it."""

    def __init__(self, api_url: str, token: str | None, *, request_timeout: float = 30) -> None:
        base = api_url.rstrip("/")
        base = base.removesuffix("/api/v1")
        self.base = base
        self.token = token
        self.client = httpx.Client(
            base_url=f"{base}/api/v1",
            timeout=httpx.Timeout(request_timeout, connect=5),
            headers={"User-Agent": f"memoai-cli/{__version__}", "Accept": "application/json"},
        )
        config = self._call("GET", "/config/public")
        limits = config.get("limits") or {}
        self.max_length = int(limits.get("max_text_length", 10_000))
        self.interval = max(0.2, int(limits.get("polling_interval_ms", 1000)) / 1000)
        if token:
            self.client.headers["Authorization"] = f"Bearer {token}"
        elif config.get("auth_enabled"):
            raise NotAuthorised(
                f"{base} requires sign-in: pass --token (or MEMOAI_TOKEN) with an API token "
                "from the web app's Integrations tab or POST /api/v1/tokens."
            )
        else:
            session = self._call("POST", "/sessions")
            self.client.headers["X-Session-ID"] = str(session["session_id"])
        # The header identifies us; cookies would also ask for CSRF tokens.
        self.client.cookies.clear()

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        budget: float = 120,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + budget
        while True:
            try:
                response = self.client.request(method, path, json=json, headers=headers)
            except httpx.TimeoutException as exc:
                raise Unreachable(f"{self.base} did not answer in time ({method} {path}).") from exc
            except httpx.TransportError as exc:
                raise Unreachable(f"Cannot reach {self.base}: {exc}") from exc
            self.client.cookies.clear()
            if response.status_code == 429:
                wait = _retry_after(response)
                if time.monotonic() + wait < deadline:
                    time.sleep(wait)
                    continue
            return self._data(response, method, path)

    def _data(self, response: httpx.Response, method: str, path: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or ("data" not in body and "errors" not in body):
            raise Unreachable(
                f"{self.base} answered {method} {path} with HTTP {response.status_code} and no "
                "Memo AI Coach envelope: is this the API's address?"
            )
        if response.is_success:
            return body.get("data") or {}
        errors = body.get("errors") or [{}]
        message = str(errors[0].get("message") or response.reason_phrase)
        status = response.status_code
        if status in (401, 403):
            raise NotAuthorised(f"{self.base} refused the request (HTTP {status}): {message}")
        if status >= 500 or status == 429:
            raise Unreachable(f"{self.base} could not answer (HTTP {status}): {message}")
        raise InputError(f"{self.base} refused the memo (HTTP {status}): {message}")

    def submit(self, text: str) -> str:
        # A retry after a lost answer must not become a second evaluation.
        key = {"Idempotency-Key": uuid.uuid4().hex}
        body = {"text_content": text}
        try:
            data = self._call("POST", "/evaluations/submit", json=body, headers=key)
        except Unreachable:
            time.sleep(1)
            data = self._call("POST", "/evaluations/submit", json=body, headers=key)
        return str(data["evaluation_id"])

    def wait(self, evaluation_id: str, progress: Progress, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            status = self._call("GET", f"/evaluations/{evaluation_id}/status")
            progress(status)
            if status["status"] in FINAL:
                break
            if time.monotonic() > deadline:
                raise TimedOut(
                    f"Evaluation {evaluation_id} is still {status['status']} after {timeout:g} s "
                    f"at {self.base} (is a worker running?)."
                )
            time.sleep(self.interval)
        return dict(self._call("GET", f"/evaluations/{evaluation_id}")["evaluation"])

    def where(self) -> str:
        if self.token:
            return f"Saved at {self.base} in the history of the token's owner."
        return (
            f"Saved at {self.base} under a new anonymous session: pass --token to keep "
            "results in your history."
        )

    def close(self) -> None:
        self.client.close()


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(60.0, max(0.5, float(response.headers.get("Retry-After", "1"))))
    except ValueError:
        return 1.0
