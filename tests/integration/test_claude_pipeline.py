"""The evaluation pipeline end to end: API process → queue → worker process →
the real `anthropic` SDK → a fake Messages API, on both back ends."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.anthropic_server import FakeAnthropic
from tests.support.stack import Stack, claude_overrides, running_stack

pytestmark = pytest.mark.integration


@pytest.fixture
def session(stack: Stack) -> str:
    return stack.new_session()


def _evaluate(stack: Stack, session: str, text: str, **headers: str) -> tuple[dict[str, Any], str]:
    evaluation_id = stack.submit(session, text, **headers)
    status = stack.wait_final(session, evaluation_id)
    return status, evaluation_id


def _unique(memo: str) -> str:
    # Tag each memo so the fake's recorded requests can be told apart.
    return memo + f"\n\nRef {time.monotonic_ns()}."


def test_success_stores_a_grounded_weighted_result(
    stack: Stack, session: str, fake: FakeAnthropic, memos: list[dict[str, Any]]
) -> None:
    text = _unique(memos[0]["text"])
    status, eid = _evaluate(stack, session, text)
    assert status["status"] == "completed", status
    result = stack.result(session, eid)
    assert result["llm_provider"] == "claude"
    assert result["offline"] is False
    rubric = result["rubric"]
    names = [c["name"] for c in rubric["criteria"]]
    assert list(result["rubric_scores"]) == names
    weights = {c["name"]: c["weight"] for c in rubric["criteria"]}
    expected = sum(result["rubric_scores"][n]["score"] * weights[n] for n in names) / sum(
        weights.values()
    )
    assert result["overall_score"] == pytest.approx(round(expected, 2))
    assert result["segment_feedback"], "the fake quotes real sentences"
    for seg in result["segment_feedback"]:
        assert text[seg["start"] : seg["end"]] == seg["segment"]
    assert result["usage"]["input_tokens"] > 0
    assert result["usage"]["output_tokens"] > 0
    assert result["config_version"]
    assert result["prompt_version"]

    (request,) = fake.requests_for(text[-30:])
    body = request.body
    credential = request.headers.get("x-api-key") or request.headers.get("authorization", "")
    assert credential.removeprefix("Bearer ") == stack.env["CLAUDE_API_KEY"]
    assert request.headers.get("anthropic-version")
    assert body["model"] == "claude-sonnet-5-5"
    # Static prompt first and cacheable; the memo only in the user turn, delimited.
    assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert "Healthcare Investment Memo Rubric" in body["system"][0]["text"]
    assert text not in json.dumps(body["system"])
    user = body["messages"][0]["content"]
    boundary = user.split(text, 1)[0].rstrip().splitlines()[-1]
    assert boundary.startswith("=====MEMO-")
    assert user.count(boundary) == 2
    schema = body["output_config"]["format"]["schema"]
    assert (
        schema["properties"]["rubric_scores"]["items"]["properties"]["criterion"]["enum"] == names
    )


def test_second_evaluation_reads_the_prompt_cache(
    stack: Stack, session: str, fake: FakeAnthropic, memos: list[dict[str, Any]]
) -> None:
    _evaluate(stack, session, _unique(memos[1]["text"]))
    _status, eid = _evaluate(stack, session, _unique(memos[2]["text"]))
    assert stack.result(session, eid)["usage"]["cache_read_tokens"] > 0


@pytest.mark.parametrize(
    "failures",
    [("rate_limit",), ("overloaded",), ("server_error",), ("slow",), ("stream_error",)],
    ids=["429-retry-after", "529", "500", "timeout", "error-mid-stream"],
)
def test_transient_provider_errors_are_retried(
    stack: Stack,
    session: str,
    fake: FakeAnthropic,
    memos: list[dict[str, Any]],
    failures: tuple[str, ...],
) -> None:
    fake.state.slow_seconds = 3  # beyond LLM_TIMEOUT=2
    fake.script(*failures, "ok")
    text = _unique(memos[3]["text"])
    status, _ = _evaluate(stack, session, text)
    assert status["status"] == "completed", status
    attempts = fake.requests_for(text[-30:])
    assert [a.behaviour for a in attempts] == [*failures, "ok"]
    if failures == ("rate_limit",):
        # retry-after: 1 was honoured
        assert attempts[1].at - attempts[0].at >= 1.0


def test_persistent_overload_fails_with_a_clear_error(
    stack: Stack, session: str, fake: FakeAnthropic, memos: list[dict[str, Any]]
) -> None:
    fake.script(*["overloaded"] * 4)
    text = _unique(memos[4]["text"])
    status, eid = _evaluate(stack, session, text)
    assert status["status"] == "failed"
    assert status["error_code"] == "llm_unavailable"
    assert "overloaded" in status["error"].lower()
    assert len(fake.requests_for(text[-30:])) == 4  # first try + 3 retries
    with stack.client() as c:
        response = c.get(f"/evaluations/{eid}", headers={"X-Session-ID": session})
    assert response.status_code == 200
    assert response.json()["data"]["evaluation"]["status"] == "failed"


def test_malformed_output_is_repaired_once(
    stack: Stack, session: str, fake: FakeAnthropic, memos: list[dict[str, Any]]
) -> None:
    fake.script("malformed", "ok")
    text = _unique(memos[5]["text"])
    status, _ = _evaluate(stack, session, text)
    assert status["status"] == "completed", status
    _first, second = fake.requests_for(text[-30:])
    turns = second.body["messages"]
    assert [t["role"] for t in turns] == ["user", "assistant", "user"]
    assert "could not be used" in turns[2]["content"]


@pytest.mark.parametrize("bad", ["malformed", "bad_schema"])
def test_output_still_invalid_after_repair_fails_clearly(
    stack: Stack, session: str, fake: FakeAnthropic, memos: list[dict[str, Any]], bad: str
) -> None:
    fake.script(bad, bad)
    text = _unique(memos[6]["text"])
    status, _ = _evaluate(stack, session, text)
    assert status["status"] == "failed"
    assert status["error_code"] == "llm_bad_output"
    assert "twice" in status["error"]
    assert len(fake.requests_for(text[-30:])) == 2


def test_invented_quotes_are_dropped_and_fuzzy_quotes_anchored(
    stack: Stack, session: str, fake: FakeAnthropic, memos: list[dict[str, Any]]
) -> None:
    fake.script("invented_quote")
    text = _unique(memos[0]["text"])
    _status, eid = _evaluate(stack, session, text)
    segments = stack.result(session, eid)["segment_feedback"]
    assert all("does not appear anywhere" not in s["segment"] for s in segments)
    assert all(text[s["start"] : s["end"]] == s["segment"] for s in segments)

    fake.script("fuzzy_quotes")
    crlf = _unique(memos[1]["text"]).replace("\n", "\r\n").replace("'", "'")
    _status, eid = _evaluate(stack, session, crlf)
    segments = stack.result(session, eid)["segment_feedback"]
    assert segments
    assert all(crlf[s["start"] : s["end"]] == s["segment"] for s in segments)


def test_request_id_follows_the_evaluation_into_the_worker(
    stack: Stack, session: str, fake: FakeAnthropic, memos: list[dict[str, Any]]
) -> None:
    request_id = f"trace-{time.monotonic_ns()}"
    _status, eid = _evaluate(
        stack, session, _unique(memos[2]["text"]), **{"X-Request-ID": request_id}
    )
    worker_lines = [r for r in stack.log_records("worker") if r.get("request_id") == request_id]
    events = {r["event"] for r in worker_lines}
    assert {"evaluation.started", "evaluation.completed"} <= events
    assert all(r.get("evaluation_id") == eid for r in worker_lines)
    api_lines = [r for r in stack.log_records("api") if r.get("request_id") == request_id]
    assert any(r["event"] == "http.request" for r in api_lines)


def test_api_key_never_reaches_logs_or_results(
    stack: Stack, session: str, fake: FakeAnthropic, memos: list[dict[str, Any]]
) -> None:
    key = stack.env["CLAUDE_API_KEY"]
    fake.script("unauthorized")
    status, _eid = _evaluate(stack, session, _unique(memos[7]["text"]))
    assert status["status"] == "failed"
    assert status["error_code"] == "llm_auth_error"
    for name in ("api", "worker"):
        assert key not in stack.log(name)
    assert key not in json.dumps(status)


def _row(stack: Stack, table: str, row_id: str, *columns: str) -> dict[str, Any]:
    from sqlalchemy import create_engine, text

    url = stack.env.get("DATABASE_URL") or f"sqlite:///{Path(stack.env['DATA_DIR']) / 'memoai.db'}"
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text(f"SELECT {', '.join(columns)} FROM {table} WHERE id = :id"),  # noqa: S608
                {"id": row_id},
            ).one()
    finally:
        engine.dispose()
    values = dict(zip(columns, row, strict=True))
    if isinstance(values.get("timings"), str):
        values["timings"] = json.loads(values["timings"])
    return values


def test_a_model_refusing_json_schema_output_falls_back_to_a_strict_tool_once(
    stack: Stack, session: str, fake: FakeAnthropic, memos: list[dict[str, Any]]
) -> None:
    fake.script("schema_unsupported")
    text = _unique(memos[2]["text"])
    status, eid = _evaluate(stack, session, text)
    assert status["status"] == "completed", status
    refused, retried = fake.requests_for(text[-30:])
    assert refused.rejected == "json_schema unsupported"
    assert "output_config" in refused.body and "tools" not in refused.body
    assert "output_config" not in retried.body
    (tool,) = retried.body["tools"]
    assert tool["strict"] is True
    assert retried.body["tool_choice"] == {"type": "tool", "name": tool["name"]}
    assert retried.rejected is None  # the fake checked the strict schema and took it
    result = stack.result(session, eid)
    assert list(result["rubric_scores"]) == [c["name"] for c in result["rubric"]["criteria"]]
    # Recorded for the debug view and in the worker's log.
    assert (
        _row(stack, "evaluations", eid, "timings")["timings"]["structured_output_fallback"]
        == "tool"
    )
    events = [
        r for r in stack.log_records("worker") if r["event"] == "llm.structured_output_fallback"
    ]
    assert events and events[-1]["fallback"] == "tool"

    # Once for that call: the next evaluation asks for JSON-schema output again.
    text = _unique(memos[3]["text"])
    status, eid = _evaluate(stack, session, text)
    assert status["status"] == "completed", status
    (only,) = fake.requests_for(text[-30:])
    assert "output_config" in only.body
    assert "structured_output_fallback" not in (
        _row(stack, "evaluations", eid, "timings")["timings"] or {}
    )


def test_x_should_retry_false_stops_retries_of_a_server_error(
    stack: Stack, session: str, fake: FakeAnthropic, memos: list[dict[str, Any]]
) -> None:
    fake.script("server_error_no_retry", "ok")
    text = _unique(memos[4]["text"])
    status, _ = _evaluate(stack, session, text)
    assert status["status"] == "failed"
    assert status["error_code"] == "llm_unavailable"
    assert [a.behaviour for a in fake.requests_for(text[-30:])] == ["server_error_no_retry"]


def test_x_should_retry_true_retries_even_a_bad_request(
    stack: Stack, session: str, fake: FakeAnthropic, memos: list[dict[str, Any]]
) -> None:
    fake.script("bad_request_retry", "ok")
    text = _unique(memos[5]["text"])
    status, _ = _evaluate(stack, session, text)
    assert status["status"] == "completed", status
    assert [a.behaviour for a in fake.requests_for(text[-30:])] == ["bad_request_retry", "ok"]


def test_multi_turn_chat_reads_the_previous_turns_from_the_cache(
    stack: Stack, session: str, fake: FakeAnthropic, memos: list[dict[str, Any]]
) -> None:
    _status, eid = _evaluate(stack, session, _unique(memos[6]["text"]))
    headers = {"X-Session-ID": session}
    questions = ["How do I make my ask clearer?", "And the risks?", "What about the budget?"]
    with stack.client() as c:
        chat_id = c.post("/chat/sessions", json={"evaluation_id": eid}, headers=headers).json()[
            "data"
        ]["chat_session_id"]
        fake.reset()
        replies = []
        for question in questions:
            posted = c.post(
                f"/chat/sessions/{chat_id}/messages",
                json={"message_content": question},
                headers=headers,
            )
            assert posted.status_code == 201, posted.text
            assert posted.json()["data"]["status"] == "completed"
            replies.append(posted.json()["data"]["assistant_message_id"])
    turns = fake.requests
    assert len(turns) == len(questions)
    for n, request in enumerate(turns):
        messages = request.body["messages"]
        assert len(messages) == 2 * n + 1
        marked = [
            (i, block)
            for i, m in enumerate(messages)
            if isinstance(m["content"], list)
            for block in m["content"]
            if block.get("cache_control")
        ]
        # One breakpoint in the history, on the last user turn; 3 of 4 in all.
        assert [(i, b["text"]) for i, b in marked] == [(len(messages) - 1, questions[n])]
        assert marked[0][1]["cache_control"] == {"type": "ephemeral"}
        assert sum(1 for b in request.body["system"] if b.get("cache_control")) == 2
        assert request.rejected is None
    for previous, current in itertools.pairwise(turns):
        # Request N+1's cached prefix covers all of request N: system, memo and history.
        assert current.cached_blocks == previous.blocks
        assert current.cached_blocks < current.blocks  # the new turns are written, not read
    last = _row(stack, "chat_messages", replies[-1], "input_tokens", "cost_usd")
    assert last["input_tokens"] > 0
    assert last["cost_usd"] is not None and last["cost_usd"] > 0


def test_no_evaluation_is_left_in_processing(stack: Stack) -> None:
    # Runs last in the module: every evaluation above reached a final state.
    from sqlalchemy import create_engine, text

    url = stack.env.get("DATABASE_URL") or f"sqlite:///{Path(stack.env['DATA_DIR']) / 'memoai.db'}"
    engine = create_engine(url)
    with engine.connect() as conn:
        states = dict(
            conn.execute(text("SELECT status, count(*) FROM evaluations GROUP BY status")).all()
        )
    engine.dispose()
    assert set(states) <= {"completed", "failed"}, states
    assert states.get("completed", 0) > 0


TRICKY = (
    "SUBJECT: Financiación de 546.000 € para el cribado 🚀 de retinopatía\r\n\r\n"
    "We request approval today. Costs are rising every quarter.\r\n"
    "Costs are rising every quarter. The “pilot” saved 12% — see annex.\r\n"
    "Ünïcödé text with emoji 😀 and accents should never shift offsets.\r\n"
)


def test_offsets_hold_for_unicode_crlf_and_repeated_sentences(
    stack: Stack, session: str, fake: FakeAnthropic
) -> None:
    text = TRICKY + f"Ref {time.monotonic_ns()}."
    status, eid = _evaluate(stack, session, text)
    assert status["status"] == "completed", status
    result = stack.result(session, eid)
    assert result["text_content"] == text  # stored verbatim, CRLF included
    segments = result["segment_feedback"]
    assert segments
    for seg in segments:
        assert text[seg["start"] : seg["end"]] == seg["segment"]
    repeated = [s for s in segments if s["segment"] == "Costs are rising every quarter."]
    assert len({s["start"] for s in repeated}) == len(repeated)


UNPRICED_MODEL = "claude-sonnet-9-9-20990101"  # a family llm.yaml has no price for


@pytest.fixture(scope="module")
def tool_stack(
    tmp_path_factory: pytest.TempPathFactory, fake_anthropic: FakeAnthropic
) -> Iterator[Stack]:
    """Tool-mode structured output on a model with no configured price."""
    overrides = claude_overrides(
        fake_anthropic.url, LLM_STRUCTURED_OUTPUT="tool", LLM_MODEL=UNPRICED_MODEL
    )
    with running_stack(tmp_path_factory.mktemp("claude-tool"), "sqlite", **overrides) as s:
        yield s


def test_tool_mode_is_strict_and_an_unpriced_model_costs_null_and_is_reported(
    tool_stack: Stack, fake: FakeAnthropic, memos: list[dict[str, Any]]
) -> None:
    session = tool_stack.new_session()
    text = _unique(memos[1]["text"])
    status, eid = _evaluate(tool_stack, session, text)
    assert status["status"] == "completed", status
    (request,) = fake.requests_for(text[-30:])
    assert request.rejected is None
    assert "output_config" not in request.body
    (tool,) = request.body["tools"]
    assert tool["strict"] is True
    assert tool["input_schema"]["additionalProperties"] is False

    result = tool_stack.result(session, eid)
    assert result["llm_model"] == UNPRICED_MODEL
    assert result["usage"]["input_tokens"] > 0
    assert result["usage"]["cost_usd"] is None  # not another model's price
    row = _row(tool_stack, "evaluations", eid, "cost_usd", "timings")
    assert row["cost_usd"] is None
    assert row["timings"]["price_unknown"] is True
    events = [r for r in tool_stack.log_records("worker") if r["event"] == "llm.price_unknown"]
    assert events and events[0]["model"] == UNPRICED_MODEL
    assert events[0]["family"] == "claude-sonnet-9-9"
    metrics = httpx.get(tool_stack.worker_metrics_url, timeout=5).text
    assert (
        f'memoai_llm_price_unknown_total{{model="{UNPRICED_MODEL}",provider="claude"}} 1.0'
        in metrics
    )


def _sdk(fake: FakeAnthropic) -> Any:
    import anthropic

    return anthropic.Anthropic(api_key="sk-ant-test", base_url=fake.url, max_retries=0)


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        (
            {
                "tools": [
                    {
                        "name": "t",
                        "strict": True,
                        "input_schema": {"type": "object", "properties": {"a": {"type": "string"}}},
                    }
                ]
            },
            "additionalProperties",
        ),
        (
            {
                "output_config": {
                    "format": {
                        "type": "json_schema",
                        "schema": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {"n": {"type": "integer", "minimum": 1}},
                        },
                    }
                }
            },
            "'minimum' is not supported",
        ),
        (
            {
                "system": [
                    {"type": "text", "text": f"part {n}", "cache_control": {"type": "ephemeral"}}
                    for n in range(5)
                ]
            },
            "A maximum of 4 blocks with cache_control",
        ),
    ],
    ids=["strict-tool-without-additionalProperties", "schema-bound", "five-breakpoints"],
)
def test_the_fake_refuses_what_the_messages_api_refuses(
    fake: FakeAnthropic, extra: dict[str, Any], problem: str
) -> None:
    import anthropic

    with pytest.raises(anthropic.BadRequestError) as caught:
        _sdk(fake).messages.create(
            model="claude-sonnet-5-5",
            max_tokens=100,
            messages=[{"role": "user", "content": "hi"}],
            **extra,
        )
    assert problem in str(caught.value)
    assert fake.requests[-1].rejected is not None


def test_the_fake_reads_the_cache_at_a_boundary_before_the_new_breakpoint(
    fake: FakeAnthropic,
) -> None:
    # Its cache follows the API's rules, so the chat test above means something.
    client = _sdk(fake)
    system = [{"type": "text", "text": "S" * 4000, "cache_control": {"type": "ephemeral"}}]
    marked = {"type": "ephemeral"}
    first = client.messages.create(
        model="claude-sonnet-5-5",
        max_tokens=100,
        system=system,
        messages=[
            {"role": "user", "content": [{"type": "text", "text": "q1", "cache_control": marked}]}
        ],
    )
    second = client.messages.create(
        model="claude-sonnet-5-5",
        max_tokens=100,
        system=system,
        messages=[
            {"role": "user", "content": "q1"},
            {"role": "assistant", "content": "a1"},
            {"role": "user", "content": [{"type": "text", "text": "q2", "cache_control": marked}]},
        ],
    )
    edited = client.messages.create(
        model="claude-sonnet-5-5",
        max_tokens=100,
        system=system,
        messages=[
            {"role": "user", "content": "q1, edited"},
            {"role": "assistant", "content": "a1"},
            {"role": "user", "content": [{"type": "text", "text": "q2", "cache_control": marked}]},
        ],
    )
    assert first.usage.cache_creation_input_tokens > 0
    one, two, three = fake.requests[-3:]
    assert (one.blocks, two.cached_blocks) == (2, 2)  # system + q1, read back
    assert second.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens
    assert three.cached_blocks == 1  # an edited turn breaks the prefix after the system
    assert edited.usage.cache_read_input_tokens < second.usage.cache_read_input_tokens
