"""kombu's Redis transport, with one synchronous client per channel.

kombu builds a new `redis.Redis` object for every publish, event and ack
(`Channel.conn_or_acquire`). With redis-py 8 that costs about 200 µs, more
than the Redis command it sends: a submit paid it twice (the task and its
task-sent event), the worker five times per task (the unacked entry, the
ack, three events). The client holds no connection of its own (each command
takes one from the channel's pool and gives it back), so one client per
channel and pool is safe to share between threads; it is rebuilt when the
channel replaces its pool.

Registered under the `redis` and `rediss` schemes, so REDIS_URL and
CELERY_BROKER_URL keep their meaning (CONTRACT §2).
"""

from __future__ import annotations

from typing import Any

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    _memoai_client: Any = None

    def _create_client(self, asynchronous: bool = False) -> Any:
        if asynchronous:
            return super()._create_client(asynchronous=True)  # type: ignore[no-untyped-call]
        client = self._memoai_client
        if client is None or client.connection_pool is not self.pool:
            client = self._memoai_client = super()._create_client(False)  # type: ignore[no-untyped-call]
        return client


class Transport(kombu_redis.Transport):
    Channel = Channel


def register() -> None:
    for scheme in ("redis", "rediss"):
        TRANSPORT_ALIASES[scheme] = "memoai.platform.broker_redis:Transport"


register()
