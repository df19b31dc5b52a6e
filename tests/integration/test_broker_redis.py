"""The Redis transport keeps one client per channel (memoai.platform.broker_redis).

kombu's own builds a `redis.Redis` per publish and per ack, which cost more
CPU than the command. Real Redis: every message must still arrive, from
many threads at once, and a channel that replaced its pool must not keep
using the old one.
"""

from __future__ import annotations

import shutil
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
import redis

from memoai.config import load_settings
from memoai.platform import broker_redis
from memoai.platform.queue import create_celery
from tests.integration.conftest import REPO
from tests.support.services import delete_redis_prefix, redis_url

pytestmark = [pytest.mark.integration, pytest.mark.redis]


@pytest.fixture
def app(tmp_path: Path) -> Any:
    url = redis_url()
    prefix = f"memoai-test-{uuid.uuid4().hex[:8]}"
    shutil.copytree(REPO / "config", tmp_path / "config", dirs_exist_ok=True)
    settings = load_settings(
        {
            "CONFIG_DIR": str(tmp_path / "config"),
            "DATA_DIR": str(tmp_path / "data"),
            "REDIS_URL": url,
            "REDIS_KEY_PREFIX": prefix,
            "CELERY_QUEUE": f"{prefix}-q",
        }
    )
    celery = create_celery(settings, "broker-redis-test")
    yield celery, f"{settings.backend.queue.key_prefix}:"
    celery.close()
    delete_redis_prefix(settings.backend.queue.key_prefix)


def _count_clients(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    made = [0]
    original = redis.Redis.__init__

    def counting(self: Any, *args: Any, **kwargs: Any) -> None:
        made[0] += 1
        original(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "__init__", counting)
    return made


def test_publishes_reuse_one_client_and_all_arrive(
    app: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    celery, prefix = app
    with celery.connection_for_write() as conn:
        assert isinstance(conn.transport, broker_redis.Transport)
    made = _count_clients(monkeypatch)
    queue = f"q-{uuid.uuid4().hex[:6]}"

    def send(n: int) -> None:
        for i in range(n):
            celery.send_task("memoai.test.noop", kwargs={"i": i}, queue=queue)

    threads = [threading.Thread(target=send, args=(25,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    client = redis.Redis.from_url(redis_url())
    try:
        assert client.llen(f"{prefix}{queue}") == 200  # none lost between threads
    finally:
        client.close()
    # kombu's transport makes one per publish (200 tasks, 200 task-sent events);
    # ours one per channel of the producer pool (broker_pool_limit 16), plus
    # the two this test opens (redis_url's ping, the count).
    assert made[0] <= 16 + 2, made[0]


def test_a_channel_with_a_new_pool_gets_a_new_client(app: tuple[Any, str]) -> None:
    celery, prefix = app
    queue = f"q-{uuid.uuid4().hex[:6]}"
    with celery.connection_for_write() as conn:
        channel = conn.default_channel
        first = channel._create_client()
        assert channel._create_client() is first
        channel._disconnect_pools()  # what kombu does when the connection is reset
        second = channel._create_client()
        assert second is not first and second.connection_pool is channel.pool
        with conn.Producer(channel) as producer:
            producer.publish({"x": 1}, routing_key=queue, declare=[conn.SimpleQueue(queue).queue])
    client = redis.Redis.from_url(redis_url())
    try:
        assert client.llen(f"{prefix}{queue}") == 1
    finally:
        client.close()
