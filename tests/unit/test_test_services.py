"""Where the tests' Postgres and Redis come from: containers when a Docker engine
answers, the machine's services otherwise, and the choice said in the header."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import services


@pytest.fixture(autouse=True)
def fresh_choice(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("TEST_SERVICES", raising=False)
    saved = dict(services._containers), dict(services._failed)
    services.choice.cache_clear()
    services._containers.clear()
    services._failed.clear()
    yield
    services.choice.cache_clear()
    services._containers.clear()
    services._failed.clear()
    services._containers.update(saved[0])
    services._failed.update(saved[1])


def test_without_a_docker_engine_the_machine_services_are_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    assert services.choice().source == "machine"
    assert services.header() == (
        "services: machine Postgres 127.0.0.1:5432, Redis 127.0.0.1:6379 (no Docker engine)"
    )
    assert services.postgres_admin_url() == services.MACHINE_POSTGRES_URL
    assert services.redis_base_url() == services.MACHINE_REDIS_URL


def test_test_services_machine_skips_the_docker_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_SERVICES", "machine")
    monkeypatch.setattr(services, "_docker_engine", lambda: pytest.fail("probed Docker"))
    assert services.choice() == services.Choice("machine", "TEST_SERVICES=machine")


class FakeContainer:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.stopped = False

    def get_container_host_ip(self) -> str:
        return "127.0.0.9"

    def get_exposed_port(self, port: int) -> int:
        return {5432: 49153, 6379: 49154}[port]

    def stop(self) -> None:
        self.stopped = True


def test_with_an_engine_containers_start_once_when_first_needed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[str] = []

    def start(kind: str) -> FakeContainer:
        started.append(kind)
        return FakeContainer(kind)

    monkeypatch.setattr(services, "_docker_engine", lambda: ("Docker engine at unix://x", ""))
    monkeypatch.setattr(services, "_start", start)
    assert services.header().startswith(
        f"services: testcontainers Postgres {services.POSTGRES_IMAGE}, Redis {services.REDIS_IMAGE}"
    )
    assert started == []  # the header does not start anything
    url = services.postgres_admin_url()
    assert url == "postgresql://postgres:postgres@127.0.0.9:49153/test"
    assert services.postgres_admin_url() == url
    assert services.redis_base_url() == "redis://127.0.0.9:49154/0"
    assert started == ["postgres", "redis"]
    containers = list(services._containers.values())
    services._stop_all()
    assert all(c.stopped for c in containers)


def test_a_container_that_cannot_start_falls_back_to_the_machine_with_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(kind: str) -> Any:
        raise RuntimeError("pull access denied")

    monkeypatch.setattr(services, "_docker_engine", lambda: ("Docker engine at unix://x", ""))
    monkeypatch.setattr(services, "_start", broken)
    with pytest.warns(UserWarning, match="could not start postgres"):
        assert services.postgres_admin_url() == services.MACHINE_POSTGRES_URL
    assert "pull access denied" in services._also("postgres")


def test_a_missing_service_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required under CI=true"):
        services.unavailable("Redis", "connection refused")
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception):
        services.unavailable("Redis", "connection refused")
