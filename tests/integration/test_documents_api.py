"""POST /api/v1/documents/extract through the real API: every refusal is a 4xx with its
code, and an extracted document submits and is scored on exactly the text shown."""

from __future__ import annotations

import codecs
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from memoai.config import reset_config_cache
from memoai.documents import word
from tests.integration.conftest import new_session
from tests.support.documents import (
    BODY,
    CLOSING,
    HEADER_LINES,
    HEADING,
    docx_bytes,
    encrypted_pdf,
    plain_zip,
    png_bytes,
    scanned_pdf,
    slow_pdf,
    text_pdf,
    with_extra_entries,
)
from tests.support.stack import Stack, running_stack

pytestmark = pytest.mark.integration

URL = "/api/v1/documents/extract"
MIB = 1024 * 1024


def upload(
    client: TestClient | httpx.Client,
    data: bytes,
    filename: str,
    headers: dict[str, str],
    content_type: str = "application/octet-stream",
) -> httpx.Response:
    return client.post(URL, files={"file": (filename, data, content_type)}, headers=headers)


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert body["data"] is None
    [error] = body["errors"]
    return dict(error)


@pytest.fixture
def session(client: TestClient) -> dict[str, str]:
    return new_session(client)


def test_a_word_document_becomes_text_for_confirmation(
    client: TestClient, session: dict[str, str]
) -> None:
    data = docx_bytes(bullets=["Train the nurses"], table=[["Cost", "$1.2M"]])
    response = upload(client, data, "Memorándum.docx", session)
    assert response.status_code == 200, response.text
    extracted = response.json()["data"]
    expected = "\n\n".join(
        [HEADING, *HEADER_LINES, BODY, CLOSING, "• Train the nurses", "Cost\t$1.2M"]
    )
    assert extracted == {
        "text": expected,
        "filename": "Memorándum.docx",
        "detected_type": "docx",
        "char_count": len(expected),
        "warnings": [],
    }
    # Nothing was stored: the writer submits the text as usual.
    submitted = client.post(
        "/api/v1/evaluations/submit", json={"text_content": extracted["text"]}, headers=session
    )
    assert submitted.status_code == 202, submitted.text


def test_pdf_and_text_files_are_read_by_content(
    client: TestClient, session: dict[str, str]
) -> None:
    pdf = upload(client, text_pdf(), "memo.bin", session).json()["data"]
    assert pdf["detected_type"] == "pdf"
    assert pdf["text"] == "\n\n".join([HEADING, "\n".join(HEADER_LINES), BODY, CLOSING])
    memo = "# Request\r\n\r\nApprove $1.2M for remote monitoring, café included."
    text = upload(client, codecs.BOM_UTF8 + memo.encode(), "memo.md", session).json()["data"]
    assert (text["detected_type"], text["text"]) == ("text", memo.replace("\r\n", "\n"))


@pytest.mark.parametrize(
    ("name", "build", "status", "code"),
    [
        ("png-as.pdf", png_bytes, 415, "unsupported_type"),
        ("zip-as.txt", lambda: plain_zip({"memo.txt": b"Approve it."}), 415, "unsupported_type"),
        ("locked.pdf", encrypted_pdf, 422, "pdf_encrypted"),
        ("scan.pdf", scanned_pdf, 422, "pdf_no_text"),
        ("cut.docx", lambda: docx_bytes()[:3000], 422, "docx_invalid"),
        (
            "bomb.docx",
            lambda: with_extra_entries(docx_bytes(), {"word/media/x.bin": bytes(40 * MIB)}),
            413,
            "docx_too_large",
        ),
        ("long.txt", lambda: b"memo " * 2001, 422, "text_too_long"),
        ("latin1.txt", lambda: "Memorándum".encode("latin-1"), 422, "not_utf8"),
        ("empty.txt", lambda: b"", 422, "empty_document"),
    ],
)
def test_each_bad_file_gets_its_4xx_code(
    client: TestClient,
    session: dict[str, str],
    name: str,
    build: Any,
    status: int,
    code: str,
) -> None:
    response = upload(client, build(), name, session)
    assert response.status_code == status, response.text
    error = error_of(response)
    assert (error["code"], error["field"]) == (code, "file")
    assert error["message"]


def test_text_too_long_says_how_long_and_the_limit(
    client: TestClient, session: dict[str, str]
) -> None:
    error = error_of(upload(client, b"memo " * 2001, "long.txt", session))
    assert error["details"] == {"length": 10_004, "max_length": 10_000, "exact": True}
    assert "10,004 characters; the limit is 10,000" in error["message"]


def test_the_zip_bomb_refusal_names_its_reason(client: TestClient, session: dict[str, str]) -> None:
    bomb = with_extra_entries(docx_bytes(), {"word/media/x.bin": bytes(40 * MIB)})
    assert len(bomb) < 200_000
    error = error_of(upload(client, bomb, "bomb.docx", session))
    assert error["details"] == {"reason": "ratio", "limit": word.MAX_RATIO}


def test_files_over_the_upload_limit_are_413_and_larger_json_limit_does_not_apply(
    client: TestClient, session: dict[str, str]
) -> None:
    # 3 MB: over max_request_size (2 MB) but within max_upload_size (5 MB), so the
    # body reaches the route and the text is judged (too long), not the size.
    three = upload(client, b"a " * (3 * MIB // 2), "big.txt", session)
    assert three.status_code == 422, three.text
    assert error_of(three)["code"] == "text_too_long"
    over = upload(client, b"a" * (5 * MIB + 1), "big.txt", session)
    assert over.status_code == 413
    assert error_of(over)["code"] == "file_too_large"
    assert error_of(over)["details"] == {"size": 5 * MIB + 1, "max_size": 5 * MIB}
    huge = upload(client, b"a" * (6 * MIB), "huge.txt", session)
    assert huge.status_code == 413
    assert error_of(huge)["code"] == "payload_too_large"


def test_wrong_media_type_missing_field_and_no_session_are_clear_4xx(
    client: TestClient, session: dict[str, str]
) -> None:
    raw = client.post(URL, content=b"hello", headers={**session, "Content-Type": "application/pdf"})
    assert raw.status_code == 415
    assert error_of(raw)["code"] == "unsupported_media_type"
    other_field = client.post(URL, files={"document": ("m.txt", b"hi")}, headers=session)
    assert other_field.status_code == 400
    assert error_of(other_field)["code"] == "bad_upload"
    anonymous = client.post(URL, files={"file": ("m.txt", b"Approve it.")})
    assert anonymous.status_code == 401


@pytest.fixture
def slow_client(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("UPLOAD_EXTRACTION_TIMEOUT", "1")
    reset_config_cache()
    from memoai_api.app import create_app

    with TestClient(create_app(), base_url="http://127.0.0.1") as c:
        yield c


def test_a_pathological_pdf_is_stopped_at_the_time_budget(slow_client: TestClient) -> None:
    response = upload(slow_client, slow_pdf(), "slow.pdf", new_session(slow_client))
    assert response.status_code == 422, response.text
    error = error_of(response)
    assert error["code"] == "extraction_timeout"
    assert error["details"] == {"timeout_seconds": 1.0}


# ------------------------------------------------------------------ a real stack


@pytest.fixture(scope="module")
def offline_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("documents"), "sqlite") as stack:
        yield stack


def test_an_uploaded_docx_is_scored_with_offsets_into_the_extracted_text(
    offline_stack: Stack,
) -> None:
    stack = offline_stack
    session = {"X-Session-ID": stack.new_session()}
    data = docx_bytes(
        paragraphs=[
            f"{BODY} The budget is $1.2M and the return is 3.4x within 18 months.",
            CLOSING,
        ],
        numbered=["Approve the $1.2M budget by June 1", "Start enrolment in July"],
    )
    with stack.client() as c:
        response = c.post(
            "/documents/extract",
            files={"file": ("memo.docx", data, "application/octet-stream")},
            headers=session,
        )
    assert response.status_code == 200, response.text
    text = response.json()["data"]["text"]
    evaluation_id = stack.submit(session["X-Session-ID"], text)
    assert stack.wait_final(session["X-Session-ID"], evaluation_id)["status"] == "completed"
    result = stack.result(session["X-Session-ID"], evaluation_id)
    assert result["segment_feedback"], result
    for segment in result["segment_feedback"]:
        assert text[segment["start"] : segment["end"]] == segment["segment"]


def test_slow_uploads_never_hold_the_threads_other_routes_need(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    root = tmp_path_factory.mktemp("documents-busy")
    # 4 threads in the API's default pool: four uploads waiting on children (or on
    # a slot) would take them all if extraction used that pool.
    with running_stack(
        root, "sqlite", services=("api",), UPLOAD_EXTRACTION_TIMEOUT="3", API_THREADS="4"
    ) as stack:
        session = {"X-Session-ID": stack.new_session()}
        # Three times the usual work: on a fast machine one extraction of the
        # usual PDF finished inside its 3 s and was refused as too long instead.
        data = slow_pdf(300_000)
        results: list[httpx.Response] = []

        def send() -> None:
            with stack.client(timeout=30) as c:
                results.append(
                    c.post(
                        "/documents/extract", files={"file": ("slow.pdf", data)}, headers=session
                    )
                )

        uploads = [threading.Thread(target=send) for _ in range(6)]
        for thread in uploads:
            thread.start()
        time.sleep(1.0)  # the uploads are in: two extracting, four waiting for a slot
        with stack.client() as c:
            started = time.monotonic()
            listed = c.get("/evaluations", headers=session)
            elapsed = time.monotonic() - started
        assert listed.status_code == 200, listed.text
        assert elapsed < 1.5, elapsed
        for thread in uploads:
            thread.join(30)
        codes = sorted(error_of(r)["code"] for r in results)
        # Two at a time: the first pair runs out of time, the next pair gets its
        # slot after ~3 s and runs out of time too, the last pair waits longer
        # than its budget for a slot.
        assert set(codes) <= {"extraction_timeout", "extraction_busy"}, codes
        assert codes.count("extraction_timeout") >= 2
        assert all(r.status_code in (422, 503) for r in results)
