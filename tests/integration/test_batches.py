"""Bulk evaluation: the 11 sample memos as one batch, its status and exports,
and the Message Batches path when batch_processing is on."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.anthropic_server import FakeAnthropic
from tests.support.stack import Stack, claude_overrides, running_stack

pytestmark = pytest.mark.integration


def _wait_batch(stack: Stack, session: str, batch_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    seen_progress = set()
    with stack.client() as c:
        while True:
            data = c.get(f"/batches/{batch_id}", headers={"X-Session-ID": session}).json()["data"]
            seen_progress.add(data["progress_percentage"])
            if data["status"] in ("completed", "completed_with_errors"):
                data["seen_progress"] = sorted(seen_progress)
                return data
            assert time.monotonic() < deadline, data
            time.sleep(0.2)


def test_eleven_memos_as_a_batch_with_status_and_exports(
    tmp_path: Path, memos: list[dict[str, Any]]
) -> None:
    with running_stack(tmp_path, "sqlite") as stack:
        session = stack.new_session()
        headers = {"X-Session-ID": session}
        items = [{"text_content": m["text"]} for m in memos]
        with stack.client() as c:
            created = c.post("/batches", headers=headers, json={"name": "Samples", "items": items})
            assert created.status_code == 202, created.text
            batch = created.json()["data"]
            assert batch["total"] == 11 and len(batch["evaluation_ids"]) == 11
            assert batch["mode"] == "individual"
        status = _wait_batch(stack, session, batch["batch_id"])
        assert status["status"] == "completed"
        assert status["counts"]["completed"] == 11
        assert status["progress_percentage"] == 100
        assert [i["evaluation_id"] for i in status["items"]] == batch["evaluation_ids"]
        with stack.client() as c:
            exported = c.get(f"/batches/{batch['batch_id']}/export?format=csv", headers=headers)
            as_json = c.get(f"/batches/{batch['batch_id']}/export?format=json", headers=headers)
            other = c.get(
                f"/batches/{batch['batch_id']}", headers={"X-Session-ID": stack.new_session()}
            )
            listed = c.get("/batches", headers=headers).json()["data"]
        assert other.status_code == 404
        assert [b["id"] for b in listed] == [batch["batch_id"]]
        assert exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert len(rows) == 11
        assert {r["status"] for r in rows} == {"completed"}
        assert "Evidence and Data" in rows[0]
        results = {e["id"]: e for e in [stack.result(session, i) for i in batch["evaluation_ids"]]}
        for row in rows:
            assert float(row["overall_score"]) == results[row["evaluation_id"]]["overall_score"]
        assert len(json.loads(as_json.text)["items"]) == 11


def test_an_invalid_item_rejects_the_whole_batch(
    tmp_path: Path, memos: list[dict[str, Any]]
) -> None:
    with running_stack(tmp_path, "sqlite", services=("api",)) as stack:
        session = stack.new_session()
        items = [
            {"text_content": memos[0]["text"]},
            {"text_content": "   "},
            {"text_content": "x" * 10_001},
        ]
        with stack.client() as c:
            response = c.post("/batches", headers={"X-Session-ID": session}, json={"items": items})
            listed = c.get("/evaluations", headers={"X-Session-ID": session}).json()["data"]
            empty = c.post("/batches", headers={"X-Session-ID": session}, json={"items": []})
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["field"] == "items.1.text_content"
    assert [p["index"] for p in error["details"]["invalid_items"]] == [1, 2]
    assert listed["total"] == 0
    assert empty.status_code == 422


def test_message_batches_api_when_batch_processing_is_on(
    tmp_path: Path, fake: FakeAnthropic, memos: list[dict[str, Any]]
) -> None:
    env = claude_overrides(fake.url, LLM_BATCH_PROCESSING="true", LLM_BATCH_POLL_INTERVAL="1")
    with running_stack(tmp_path, "sqlite", services=("api", "worker", "beat"), **env) as stack:
        session = stack.new_session()
        items = [{"text_content": m["text"]} for m in memos]
        with stack.client() as c:
            created = c.post("/batches", headers={"X-Session-ID": session}, json={"items": items})
        batch = created.json()["data"]
        assert batch["mode"] == "message_batches"
        status = _wait_batch(stack, session, batch["batch_id"])
        assert status["status"] == "completed", status
        (request,) = [r for r in fake.requests if r.behaviour == "batch"]
        assert request.path == "/v1/messages/batches"
        assert sorted(r["custom_id"] for r in request.body["requests"]) == sorted(
            batch["evaluation_ids"]
        )
        params = request.body["requests"][0]["params"]
        assert params["system"][0]["cache_control"] == {"type": "ephemeral"}
        assert "output_config" in params
        # No individual Messages calls were made for the batch's memos.
        assert [r for r in fake.requests if r.path == "/v1/messages"] == []
        result = stack.result(session, batch["evaluation_ids"][0])
        assert result["llm_provider"] == "claude"
        assert all(
            result["text_content"][s["start"] : s["end"]] == s["segment"]
            for s in result["segment_feedback"]
        )
