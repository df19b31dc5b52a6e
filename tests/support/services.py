"""Real backing services for tests: Postgres and Redis.

Where they come from is decided once per run and printed in pytest's header:
- a Docker engine is reachable (DOCKER_HOST, the Docker context, or
  ~/.testcontainers.properties, as testcontainers finds it): throwaway
  containers started with testcontainers the first time a test needs one
  (the images the production Compose file runs), removed when the run ends;
- otherwise the machine's own services, Postgres on 127.0.0.1:5432 (trust,
  database `test`) and Redis on 127.0.0.1:6379, as before.
`TEST_SERVICES=machine` or `TEST_SERVICES=containers` forces a choice;
`TEST_POSTGRES_URL` / `TEST_REDIS_URL` point at other machine services. A
container that cannot start (say, no image and no registry) falls back to the
machine's service, with a warning. A missing service skips its tests locally
and FAILS them under CI=true.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import socket
import threading
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest

MACHINE_POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
MACHINE_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_IMAGE = "postgres:17.6-trixie"  # as infra/compose/docker-compose.prod.yml
REDIS_IMAGE = "redis:7.4.5-alpine"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(what: str, why: str) -> None:
    """Skip locally; under CI a missing service is a failure, never a silent skip."""
    message = f"{what} is not available ({why})"
    if in_ci():
        pytest.fail(message + " - required under CI=true", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------- the choice


@dataclass(frozen=True)
class Choice:
    source: str  # "containers" or "machine"
    reason: str  # why, for the header


@cache
def choice() -> Choice:
    forced = os.environ.get("TEST_SERVICES", "").strip().lower()
    if forced == "machine":
        return Choice("machine", "TEST_SERVICES=machine")
    engine, why = _docker_engine()
    if forced == "containers":
        return Choice("containers", f"TEST_SERVICES=containers, {engine or why}")
    if engine is not None:
        return Choice("containers", engine)
    return Choice("machine", why)


def _docker_engine() -> tuple[str | None, str]:
    """A description of the reachable Docker engine, or None and why not."""
    try:
        from testcontainers.core.docker_client import DockerClient, get_docker_host
    except ImportError as exc:  # the dev extra is not installed
        return None, f"testcontainers not installed: {exc}"
    try:
        client = DockerClient(timeout=3).client
        client.ping()
    except Exception:  # noqa: BLE001 - any failure means "no engine"
        return None, "no Docker engine"
    host = get_docker_host() or os.environ.get("DOCKER_HOST") or "the default socket"
    return f"Docker engine at {host}", ""


def header() -> str:
    """One line for pytest's header: where Postgres and Redis come from."""
    current = choice()
    if current.source == "containers":
        return (
            f"services: testcontainers Postgres {POSTGRES_IMAGE}, Redis {REDIS_IMAGE} "
            f"({current.reason}; started when first needed)"
        )
    return (
        f"services: machine Postgres {_where(MACHINE_POSTGRES_URL)}, "
        f"Redis {_where(MACHINE_REDIS_URL)} ({current.reason})"
    )


def _where(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}"


# ---------------------------------------------------------------- containers

_lock = threading.Lock()
_containers: dict[str, Any] = {}
_failed: dict[str, str] = {}


def _container_url(kind: str) -> str | None:
    """The URL of this run's container for `kind`, started on first use; None if it failed."""
    with _lock:
        if kind in _failed:
            return None
        container = _containers.get(kind)
        if container is None:
            try:
                container = _start(kind)
            except Exception as exc:  # noqa: BLE001 - fall back to the machine's service
                _failed[kind] = f"{type(exc).__name__}: {exc}"[:300]
                warnings.warn(
                    f"testcontainers could not start {kind} ({_failed[kind]}); "
                    "using the machine's service",
                    stacklevel=2,
                )
                return None
            _containers[kind] = container
            if len(_containers) == 1:
                atexit.register(_stop_all)
    host = container.get_container_host_ip()
    if kind == "postgres":
        port = container.get_exposed_port(5432)
        return f"postgresql://postgres:postgres@{host}:{port}/test"
    return f"redis://{host}:{container.get_exposed_port(6379)}/0"


def _start(kind: str) -> Any:
    if kind == "postgres":
        from testcontainers.community.postgres import PostgresContainer

        container: Any = PostgresContainer(
            POSTGRES_IMAGE, username="postgres", password="postgres", dbname="test", driver=None
        )
    else:
        from testcontainers.community.redis import RedisContainer

        container = RedisContainer(REDIS_IMAGE)
    return container.start()


def _stop_all() -> None:
    with _lock:
        for container in _containers.values():
            # A container that does not stop is removed by testcontainers' reaper.
            with contextlib.suppress(Exception):
                container.stop()
        _containers.clear()


def postgres_admin_url() -> str:
    if choice().source == "containers":
        url = _container_url("postgres")
        if url is not None:
            return url
    return MACHINE_POSTGRES_URL


def redis_base_url() -> str:
    if choice().source == "containers":
        url = _container_url("redis")
        if url is not None:
            return url
    return MACHINE_REDIS_URL


def _also(kind: str) -> str:
    # Say why the container is not there either, when it was tried.
    return f"; container: {_failed[kind]}" if kind in _failed else ""


# ---------------------------------------------------------------- the services


def redis_url() -> str:
    import redis

    url = redis_base_url()
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1)
        client.ping()
        client.close()
    except Exception as exc:  # noqa: BLE001
        unavailable("Redis", f"{exc}{_also('redis')}")
    return url


def delete_redis_prefix(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_base_url())
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=500))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
    finally:
        client.close()


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh, empty database for this test run; dropped afterwards."""
    import psycopg

    admin_url = postgres_admin_url()
    name = f"memoai_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=3)
    except Exception as exc:  # noqa: BLE001
        unavailable("PostgreSQL", f"{exc}{_also('postgres')}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
