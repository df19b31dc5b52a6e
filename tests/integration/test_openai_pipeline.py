"""The core evaluation tests with LLM_PROVIDER=openai against a fake
OpenAI-compatible server, with and without JSON-schema support."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.openai_server import FakeOpenAI
from tests.support.stack import Stack, running_stack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=[True, False], ids=["schema", "no-schema"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Stack, FakeOpenAI]]:
    with FakeOpenAI(schema_support=request.param) as fake:
        root = tmp_path_factory.mktemp("openai")
        env = {
            "LLM_PROVIDER": "openai",
            "LLM_BASE_URL": fake.url,
            "LLM_MODEL": "llama-3.3-70b-instruct",
            "LLM_TIMEOUT": "5",
            "LLM_RETRY_DELAY": "0.2",
        }
        with running_stack(root, "sqlite", **env) as stack:
            yield stack, fake


def _run(stack: Stack, text: str) -> tuple[dict[str, Any], str]:
    session = stack.new_session()
    eid = stack.submit(session, text)
    status = stack.wait_final(session, eid)
    return status, session


def test_grounded_weighted_result(
    served: tuple[Stack, FakeOpenAI], memos: list[dict[str, Any]]
) -> None:
    stack, fake = served
    text = memos[0]["text"] + f"\nRef {time.monotonic_ns()}."
    status, session = _run(stack, text)
    assert status["status"] == "completed", status
    result = stack.result(session, status["evaluation_id"])
    assert (result["llm_provider"], result["llm_model"]) == ("openai", "llama-3.3-70b-instruct")
    assert list(result["rubric_scores"]) == [c["name"] for c in result["rubric"]["criteria"]]
    assert result["segment_feedback"]
    assert all(text[s["start"] : s["end"]] == s["segment"] for s in result["segment_feedback"])
    (request,) = fake.requests_for(text[-25:])
    assert request["model"] == "llama-3.3-70b-instruct"
    assert ("response_format" in request) is fake.state.schema_support
    assert "JSON schema" in request["messages"][0]["content"]
    assert request["stream"] is True


def test_transient_errors_are_retried(
    served: tuple[Stack, FakeOpenAI], memos: list[dict[str, Any]]
) -> None:
    stack, fake = served
    fake.script("rate_limit", "server_error", "ok")
    text = memos[1]["text"] + f"\nRef {time.monotonic_ns()}."
    status, _ = _run(stack, text)
    assert status["status"] == "completed"
    assert [r["_behaviour"] for r in fake.requests_for(text[-25:])] == [
        "rate_limit",
        "server_error",
        "ok",
    ]


def test_malformed_output_is_repaired(
    served: tuple[Stack, FakeOpenAI], memos: list[dict[str, Any]]
) -> None:
    stack, fake = served
    fake.script("malformed", "ok")
    text = memos[2]["text"] + f"\nRef {time.monotonic_ns()}."
    status, _ = _run(stack, text)
    assert status["status"] == "completed"
    second = fake.requests_for(text[-25:])[1]
    assert [m["role"] for m in second["messages"]] == ["system", "user", "assistant", "user"]


def test_invalid_twice_fails_clearly(
    served: tuple[Stack, FakeOpenAI], memos: list[dict[str, Any]]
) -> None:
    stack, fake = served
    fake.script("bad_schema", "bad_schema")
    status, _ = _run(stack, memos[3]["text"] + f"\nRef {time.monotonic_ns()}.")
    assert status["status"] == "failed"
    assert status["error_code"] == "llm_bad_output"


def test_chat_through_the_local_model(
    served: tuple[Stack, FakeOpenAI], memos: list[dict[str, Any]]
) -> None:
    stack, _fake = served
    status, session = _run(stack, memos[4]["text"])
    headers = {"X-Session-ID": session}
    with stack.client() as c:
        chat_id = c.post(
            "/chat/sessions", json={"evaluation_id": status["evaluation_id"]}, headers=headers
        ).json()["data"]["chat_session_id"]
        reply = c.post(
            f"/chat/sessions/{chat_id}/messages", json={"message_content": "Help?"}, headers=headers
        ).json()["data"]
    assert reply["status"] == "completed"
    assert reply["assistant_response"].startswith("Coaching from the local model")
