"""The evaluation pipeline end to end: API process → queue → worker process →
the real `anthropic` SDK → a fake Messages API, on both back ends."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.anthropic_server import FakeAnthropic
from tests.support.stack import Stack

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
