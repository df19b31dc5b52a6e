"""Coaching end to end on real processes: chat (real SDK → fake API, streamed),
revisions compared, progress over time, and the PDF report."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.anthropic_server import FakeAnthropic
from tests.support.services import unavailable
from tests.support.stack import Stack

pytestmark = pytest.mark.integration


def _completed(stack: Stack, session: str, text: str, **body: Any) -> str:
    with stack.client() as c:
        response = c.post(
            "/evaluations/submit",
            json={"text_content": text, **body},
            headers={"X-Session-ID": session},
        )
    assert response.status_code == 202, response.text
    eid = str(response.json()["data"]["evaluation_id"])
    assert stack.wait_final(session, eid)["status"] == "completed"
    return eid


def _by_file(memos: list[dict[str, Any]], name: str) -> str:
    return next(m["text"] for m in memos if m["file"] == name)


def test_chat_reply_knows_the_memo_evaluation_and_rubric(
    stack: Stack, fake: FakeAnthropic, memos: list[dict[str, Any]]
) -> None:
    session = stack.new_session()
    memo = memos[3]["text"] + f"\nRef {time.monotonic_ns()}."
    eid = _completed(stack, session, memo)
    headers = {"X-Session-ID": session}
    with stack.client() as c:
        opened = c.post("/chat/sessions", json={"evaluation_id": eid}, headers=headers)
        assert opened.status_code == 201
        chat_id = opened.json()["data"]["chat_session_id"]
        again = c.post("/chat/sessions", json={"evaluation_id": eid}, headers=headers)
        assert again.status_code == 200
        assert again.json()["data"]["chat_session_id"] == chat_id

        fake.reset()
        posted = c.post(
            f"/chat/sessions/{chat_id}/messages",
            json={"message_content": "How do I make my ask clearer?"},
            headers=headers,
        )
        assert posted.status_code == 201, posted.text
        data = posted.json()["data"]
        assert data["status"] == "completed"
        assert "How do I make my ask clearer?" in data["assistant_response"]

        (request,) = fake.requests
        body = request.body
        assert body["stream"] is True
        system = body["system"]
        assert "Healthcare Investment Memo Rubric" in system[0]["text"]  # rubric
        assert "Pyramid Principle" in system[0]["text"]  # frameworks
        assert system[0]["cache_control"] == {"type": "ephemeral"}
        assert memo in system[1]["text"]  # the memo, as data
        evaluation = stack.result(session, eid)
        first = next(iter(evaluation["rubric_scores"]))
        assert first in system[1]["text"] and "Strengths:" in system[1]["text"]  # evaluation
        # The question is the last user turn: it carries the history's cache breakpoint.
        assert body["messages"] == [
            {
                "role": "user",
                "content": [
                    {
                        "type": "text",
                        "text": "How do I make my ask clearer?",
                        "cache_control": {"type": "ephemeral"},
                    }
                ],
            }
        ]

        # A follow-up carries the history, alternating roles.
        c.post(
            f"/chat/sessions/{chat_id}/messages",
            json={"message_content": "And the risks?"},
            headers=headers,
        )
        roles = [m["role"] for m in fake.requests[-1].body["messages"]]
        assert roles == ["user", "assistant", "user"]

        history = c.get(f"/chat/sessions/{chat_id}/messages", headers=headers).json()["data"]
    assert [m["role"] for m in history["messages"]] == ["user", "assistant"] * 2
    assert all(m["status"] == "completed" for m in history["messages"])


def test_chat_reply_streams_in_pieces(
    stack: Stack, fake: FakeAnthropic, memos: list[dict[str, Any]]
) -> None:
    session = stack.new_session()
    headers = {"X-Session-ID": session}
    eid = _completed(stack, session, memos[4]["text"])
    fake.state.latency = 0.3
    fake.state.chunk_delay = 0.05
    with stack.client() as c:
        chat_id = c.post("/chat/sessions", json={"evaluation_id": eid}, headers=headers).json()[
            "data"
        ]["chat_session_id"]
        posted = c.post(
            f"/chat/sessions/{chat_id}/messages?wait=false",
            json={"message_content": "Please explain my weakest criterion in detail."},
            headers=headers,
        )
        assert posted.status_code == 202
        stream_url = posted.json()["data"]["stream_url"]
        events: list[tuple[str, dict[str, Any]]] = []
        with httpx.stream("GET", stack.api_url + stream_url, headers=headers, timeout=30) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            name = None
            for line in r.iter_lines():
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: ") and name:
                    events.append((name, json.loads(line[6:])))
                    if name == "done":
                        break
    deltas = [e for n, e in events if n == "delta"]
    done = [e for n, e in events if n == "done"]
    assert len(deltas) >= 2, "the reply arrives in several pieces"
    assert done and done[0]["status"] == "completed"
    assert "".join(d["text"] for d in deltas) == done[0]["content"]


def test_another_sessions_chat_is_404(stack: Stack, memos: list[dict[str, Any]]) -> None:
    alice, bob = stack.new_session(), stack.new_session()
    eid = _completed(stack, alice, memos[5]["text"])
    with stack.client() as c:
        assert (
            c.post(
                "/chat/sessions", json={"evaluation_id": eid}, headers={"X-Session-ID": bob}
            ).status_code
            == 404
        )
        chat_id = c.post(
            "/chat/sessions", json={"evaluation_id": eid}, headers={"X-Session-ID": alice}
        ).json()["data"]["chat_session_id"]
        for method, path, body in [
            ("GET", f"/chat/sessions/{chat_id}/messages", None),
            ("POST", f"/chat/sessions/{chat_id}/messages", {"message_content": "hi"}),
            ("GET", f"/chat/sessions/{chat_id}/messages/x/stream", None),
        ]:
            response = c.request(method, path, json=body, headers={"X-Session-ID": bob})
            assert response.status_code == 404, (path, response.text)
        bad = c.post(
            f"/chat/sessions/{chat_id}/messages",
            json={"message_content": "  "},
            headers={"X-Session-ID": alice},
        )
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"] == "message_content"


def test_revision_pair_is_version_two_with_deltas_and_diff(
    stack: Stack, memos: list[dict[str, Any]]
) -> None:
    session = stack.new_session()
    v1 = _completed(stack, session, _by_file(memos, "rev1_en_sepsis_early_warning.txt"))
    v2 = _completed(
        stack,
        session,
        _by_file(memos, "rev2_en_sepsis_early_warning.txt"),
        previous_evaluation_id=v1,
    )
    first, second = stack.result(session, v1), stack.result(session, v2)
    assert (first["version_number"], second["version_number"]) == (1, 2)
    assert second["previous_submission_id"] == first["submission_id"]
    with stack.client() as c:
        response = c.get(f"/evaluations/{v2}/comparison", headers={"X-Session-ID": session})
        assert response.status_code == 200, response.text
        comparison = response.json()["data"]
        none = c.get(f"/evaluations/{v1}/comparison", headers={"X-Session-ID": session})
    assert none.status_code == 404
    assert comparison["previous_evaluation_id"] == v1
    assert set(comparison["criteria"]) == set(second["rubric_scores"])
    for name, delta in comparison["criteria"].items():
        assert delta["previous"] == first["rubric_scores"][name]["score"]
        assert delta["current"] == second["rubric_scores"][name]["score"]
        assert delta["delta"] == delta["current"] - delta["previous"]
    assert comparison["overall"]["delta"] == pytest.approx(
        second["overall_score"] - first["overall_score"], abs=0.01
    )
    assert any(op["op"] != "equal" for op in comparison["diff"])
    assert comparison["words_added"] > 100
    assert len(comparison["questions"]) == sum(
        len(s["questions"]) for s in first["segment_feedback"]
    )


def test_progress_has_a_point_per_evaluation_and_matches_the_api(
    stack: Stack, memos: list[dict[str, Any]]
) -> None:
    session = stack.new_session()
    ids = [_completed(stack, session, memos[i]["text"]) for i in (0, 4, 7)]
    with stack.client() as c:
        progress = c.get("/progress?range=all", headers={"X-Session-ID": session}).json()["data"]
        week = c.get("/progress?range=week", headers={"X-Session-ID": session}).json()["data"]
        bad = c.get("/progress?range=decade", headers={"X-Session-ID": session})
    assert bad.status_code == 422
    assert week["evaluations"] == 3
    assert [p["evaluation_id"] for p in progress["overall_trends"]] == ids
    results = [stack.result(session, e) for e in ids]
    assert [p["overall_score"] for p in progress["overall_trends"]] == [
        r["overall_score"] for r in results
    ]
    for name, trend in progress["rubric_improvements"].items():
        assert [p["score"] for p in trend["points"]] == [
            r["rubric_scores"][name]["score"] for r in results
        ]
    assert sum(p["count"] for p in progress["submission_frequency"]) == 3
    assert progress["text_summary"].startswith("3 evaluations")


def test_pdf_report_has_the_memo_criteria_and_comments(
    stack: Stack, memos: list[dict[str, Any]], tmp_path: Path
) -> None:
    if shutil.which("pdftotext") is None:
        unavailable("pdftotext", "poppler-utils is not installed")
    session = stack.new_session()
    memo = memos[0]["text"]
    eid = _completed(stack, session, memo)
    with stack.client() as c:
        response = c.get(f"/export/pdf/{eid}", headers={"X-Session-ID": session})
        other = c.get(f"/export/pdf/{eid}", headers={"X-Session-ID": stack.new_session()})
    assert other.status_code == 404
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    path = tmp_path / "report.pdf"
    path.write_bytes(response.content)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = " ".join(text.split())
    first_sentence = memo.split("\n")[0]
    assert " ".join(first_sentence.split()) in flat
    result = stack.result(session, eid)
    for name in result["rubric_scores"]:
        # Long names wrap inside the table cell; check each word made it.
        assert all(word in flat for word in name.split()), name
    comment = result["segment_feedback"][0]["comment"]
    assert " ".join(comment.split()) in flat
    assert "Page 1 of" in flat
