"""Task routing: every task has a queue, the worker consumes them all unless told."""

from __future__ import annotations

import pytest

from memoai.config import get_settings
from memoai.platform.queue import ROUTES, QueueName, TaskName, celery_config, worker_queues
from memoai_cli.main import worker_argv


def test_every_task_is_routed_to_a_queue() -> None:
    # A new task without a route would silently land in the default queue.
    assert set(ROUTES) == set(TaskName)


def test_interactive_work_never_shares_a_queue_with_bulk_or_slow_work() -> None:
    assert ROUTES[TaskName.CHAT_REPLY] is QueueName.CHAT
    assert ROUTES[TaskName.EVALUATE] is QueueName.EVALUATIONS
    bulk = {TaskName.BATCH_SUBMIT, TaskName.BATCH_POLL, TaskName.BACKUP, TaskName.CLEANUP}
    assert {ROUTES[t] for t in bulk}.isdisjoint({QueueName.CHAT, QueueName.EVALUATIONS})
    # A slow webhook receiver must not hold up the sweeper or a backup, nor them it.
    assert ROUTES[TaskName.DELIVER_WEBHOOK] is QueueName.WEBHOOKS
    assert ROUTES[TaskName.SWEEP] is QueueName.MAINTENANCE


def test_the_celery_config_routes_by_name_and_declares_every_queue() -> None:
    settings = get_settings()
    config = celery_config(settings)
    assert config["task_routes"][TaskName.CHAT_REPLY.value] == {"queue": "chat"}
    assert config["task_routes"][TaskName.EVALUATE.value] == {"queue": "evaluations"}
    assert set(config["task_queues"]) == set(worker_queues(settings))
    assert config["task_queues"]["chat"] == {"exchange": "chat", "routing_key": "chat"}


def test_workers_also_drain_the_legacy_single_queue() -> None:
    settings = get_settings()
    legacy = settings.backend.queue.queue_name
    assert worker_queues(settings) == [
        "evaluations",
        "chat",
        "batches",
        "webhooks",
        "maintenance",
        *([] if legacy in {q.value for q in QueueName} else [legacy]),
    ]


@pytest.mark.parametrize(
    ("args", "queues"),
    [
        ((), None),
        (("-Q", "chat"), "chat"),
        (("-Qchat",), "chat"),
        (("--queues", "evaluations,batches"), "evaluations,batches"),
        (("--queues=chat",), "chat"),
    ],
)
def test_memoai_worker_consumes_every_queue_unless_q_is_given(
    args: tuple[str, ...], queues: str | None
) -> None:
    settings = get_settings()
    argv = worker_argv(settings, args)
    every = f"--queues={','.join(worker_queues(settings))}"
    if queues is None:
        assert every in argv
    else:
        assert every not in argv
        assert argv[-len(args) :] == list(args)  # the caller's choice, passed as given


def test_exclude_queues_keeps_the_full_list_to_exclude_from() -> None:
    argv = worker_argv(get_settings(), ("-X", "batches"))
    assert any(a.startswith("--queues=") and "batches" in a for a in argv)
    assert argv[-2:] == ["-X", "batches"]


def test_a_dedicated_worker_is_named_after_its_queues_unless_named() -> None:
    settings = get_settings()
    assert "--hostname=chat@%h" in worker_argv(settings, ("-Q", "chat"))
    assert "--hostname=evaluations+batches@%h" in worker_argv(
        settings, ("--queues=evaluations,batches",)
    )
    named = worker_argv(settings, ("-Q", "chat", "-n", "mine@%h"))
    assert not any(a.startswith("--hostname=") for a in named)
    assert not any(a.startswith("--hostname=") for a in worker_argv(settings, ()))
