"""Fixtures shared by every test layer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.anthropic_server import FakeAnthropic
from tests.support import services
from tests.support.stack import load_memos


def pytest_report_header(config: pytest.Config) -> str:
    """Where this run's Postgres and Redis come from (containers or the machine's)."""
    return services.header()


@pytest.fixture(scope="session")
def memos() -> list[dict[str, Any]]:
    """The example memos of examples/memos with their manifest entries and text."""
    return load_memos()


@pytest.fixture(scope="session")
def fake_anthropic() -> Iterator[FakeAnthropic]:
    """One fake Messages API for the session; tests script it and read its requests."""
    with FakeAnthropic() as fake:
        yield fake


@pytest.fixture
def fake(fake_anthropic: FakeAnthropic) -> Iterator[FakeAnthropic]:
    """The session's fake, reset to its defaults before and after each test."""
    fake_anthropic.reset()
    yield fake_anthropic
    fake_anthropic.reset()
