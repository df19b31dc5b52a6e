"""HTTP helpers for logged-in callers: a cookie 'browser' and bearer clients."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.support.stack import Stack

ADMIN_USERNAME = "root-admin"
ADMIN_PASSWORD = "Root-admin-passw0rd"
JWT_SECRET = "test-jwt-secret-" + "0123456789abcdef" * 3
USER_PASSWORD = "User-passw0rd-long"
MEMO = (
    "TO: Executive Team\nSUBJECT: Approve $1.2M for remote monitoring\n\n"
    "We request $1.2M to monitor 600 heart-failure patients at home, cutting "
    "readmissions by 20% within 12 months. Decision needed by June 1."
)


def auth_overrides(**more: str) -> dict[str, str]:
    """A stack with logins on and a bootstrap admin."""
    return {
        "AUTH_ENABLED": "true",
        "JWT_SECRET_KEY": JWT_SECRET,
        "ADMIN_USERNAME": ADMIN_USERNAME,
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        **more,
    }


def login(stack: Stack, username: str, password: str, **headers: str) -> httpx.Response:
    with stack.client() as c:
        return c.post(
            "/auth/login", json={"username": username, "password": password}, headers=headers
        )


def bearer(stack: Stack, username: str, password: str) -> dict[str, str]:
    response = login(stack, username, password)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['data']['access_token']}"}


def create_user(
    stack: Stack, admin: dict[str, str], username: str, password: str = USER_PASSWORD
) -> dict[str, Any]:
    with stack.client() as c:
        response = c.post(
            "/users", json={"username": username, "password": password}, headers=admin
        )
    assert response.status_code == 201, response.text
    return dict(response.json()["data"]["user"])


class Browser:
    """A cookie-holding client that echoes the CSRF cookie like the web app does."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.http = stack.client()

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def csrf(self) -> str | None:
        return self.http.cookies.get("memoai_csrf_token")

    def login(self, username: str, password: str) -> httpx.Response:
        return self.http.post("/auth/login", json={"username": username, "password": password})

    def request(
        self, method: str, path: str, *, csrf: bool = True, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if csrf and self.csrf and method.upper() not in ("GET", "HEAD"):
            headers["X-CSRF-Token"] = self.csrf
        return self.http.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)


def wait_final(
    client: httpx.Client | Browser, evaluation_id: str, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        response = client.get(f"/evaluations/{evaluation_id}/status", headers=headers or {})
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        if data["status"] in ("completed", "failed"):
            return data
        assert time.monotonic() < deadline, data
        time.sleep(0.1)
