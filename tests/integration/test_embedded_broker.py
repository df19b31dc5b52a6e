"""The embedded SQLite broker as kombu uses it: several queues, acks, restores,
depth per queue, and a loud failure if kombu's virtual-transport interface (the
extension point it is built on) changes under it."""

from __future__ import annotations

import inspect
import re
import sqlite3
import tomllib
from collections.abc import Iterator
from pathlib import Path

import kombu
import pytest
from kombu.transport import virtual

from memoai.platform import broker

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def test_kombu_is_pinned_to_the_version_this_transport_was_checked_against() -> None:
    # The transport implements kombu's virtual-channel methods; a new kombu may
    # change them. Re-run this file against the new version, then update the pin.
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    pins = [d for d in project["project"]["dependencies"] if d.startswith("kombu")]
    assert pins == [f"kombu=={kombu.__version__}"], "kombu must be pinned exactly"
    lock = (REPO / "requirements.lock").read_text()
    assert re.search(rf"^kombu=={re.escape(kombu.__version__)}$", lock, re.M)


@pytest.mark.parametrize(
    ("method", "parameters"),
    [
        ("_new_queue", ["self", "queue", "kwargs"]),
        ("_get", ["self", "queue", "timeout"]),
        ("_put", ["self", "queue", "message"]),
        ("_size", ["self", "queue"]),
        ("_purge", ["self", "queue"]),
        ("_delete", ["self", "queue", "args", "kwargs"]),
        ("close", ["self"]),
    ],
)
def test_kombus_virtual_channel_still_has_the_methods_we_implement(
    method: str, parameters: list[str]
) -> None:
    base = getattr(virtual.Channel, method)
    assert list(inspect.signature(base).parameters) == parameters, (
        f"kombu changed virtual.Channel.{method}: review memoai.platform.broker"
    )
    assert method in vars(broker.Channel), f"broker.Channel must implement {method}"
    ours = inspect.signature(getattr(broker.Channel, method)).parameters
    assert list(ours)[: len(parameters) - 1] == parameters[: len(parameters) - 1]


def test_kombu_calls_our_get_put_size_and_purge() -> None:
    # kombu reaches a transport through these calls; if it stopped, our
    # overrides would be dead code and the stock behaviour would come back.
    source = inspect.getsource(virtual.Channel)
    for call in ("self._put(", "self._get(", "self._size(", "self._purge(", "self._new_queue("):
        assert call in source, f"kombu's virtual.Channel no longer calls {call}"


@pytest.fixture
def connection(tmp_path: Path) -> Iterator[kombu.Connection]:
    url = broker.url_for(f"sqla+sqlite:///{tmp_path / 'broker.db'}")
    with kombu.Connection(url, transport_options={"polling_interval": 0.01}) as conn:
        yield conn


def _depths(conn: kombu.Connection, *names: str) -> dict[str, int]:
    return broker.embedded_depth(f"sqla+{conn.hostname}", list(names))


def test_messages_stay_in_their_own_queue(connection: kombu.Connection) -> None:
    chat, evaluations = connection.SimpleQueue("chat"), connection.SimpleQueue("evaluations")
    for n in range(3):
        evaluations.put({"n": n})
    chat.put({"reply": 1})
    assert _depths(connection, "chat", "evaluations", "batches") == {
        "chat": 1,
        "evaluations": 3,
        "batches": 0,
    }
    message = chat.get(timeout=2)
    assert message.payload == {"reply": 1}
    message.ack()
    assert [evaluations.get(timeout=2).payload["n"] for _ in range(3)] == [0, 1, 2]  # FIFO
    assert _depths(connection, "chat", "evaluations") == {"chat": 0, "evaluations": 0}
    chat.close()
    evaluations.close()


def test_an_unacked_message_is_restored_when_the_consumer_closes(tmp_path: Path) -> None:
    url = broker.url_for(f"sqla+sqlite:///{tmp_path / 'broker.db'}")
    with kombu.Connection(url, transport_options={"polling_interval": 0.01}) as conn:
        queue = conn.SimpleQueue("chat")
        queue.put({"reply": 2})
        taken = queue.get(timeout=2)
        assert taken.payload == {"reply": 2}
        assert _depths(conn, "chat") == {"chat": 0}  # taken means deleted from the table
        queue.close()  # not acked: kombu gives it back through our _put
    with kombu.Connection(url, transport_options={"polling_interval": 0.01}) as conn:
        assert _depths(conn, "chat") == {"chat": 1}
        again = conn.SimpleQueue("chat")
        assert again.get(timeout=2).payload == {"reply": 2}
        again.close()


def test_purge_counts_and_empties_one_queue_only(connection: kombu.Connection) -> None:
    chat, batches = connection.SimpleQueue("chat"), connection.SimpleQueue("batches")
    for _ in range(2):
        batches.put({"b": 1})
    chat.put({"c": 1})
    assert batches.clear() == 2
    assert _depths(connection, "chat", "batches") == {"chat": 1, "batches": 0}
    chat.close()
    batches.close()


def test_the_file_is_in_wal_mode_with_kombus_table_names(connection: kombu.Connection) -> None:
    queue = connection.SimpleQueue("maintenance")
    queue.put({"x": 1})
    path = connection.hostname.split("sqlite:///", 1)[1]
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"kombu_queue", "kombu_message"} <= tables
    queue.close()


def test_depth_of_a_broker_never_used_is_zero(tmp_path: Path) -> None:
    url = f"sqla+sqlite:///{tmp_path / 'nothing.db'}"
    assert broker.embedded_depth(url, ["chat", "evaluations"]) == {"chat": 0, "evaluations": 0}
