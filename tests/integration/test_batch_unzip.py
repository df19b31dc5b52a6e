"""POST /batches/unzip: memos out of a zip, in memory, with a zip-bomb guard."""

from __future__ import annotations

import io
import zipfile

import pytest
from fastapi.testclient import TestClient

from memoai.batches.archive import MAX_ENTRIES, MAX_TOTAL_BYTES
from tests.integration.conftest import new_session
from tests.support.auth import MEMO

pytestmark = pytest.mark.integration

URL = "/api/v1/batches/unzip"


def make_zip(entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def post_zip(client: TestClient, body: bytes, content_type: str = "application/zip") -> object:
    headers = {**new_session(client), "Content-Type": content_type}
    return client.post(URL, content=body, headers=headers)


def test_text_files_become_items_in_name_order_and_the_rest_is_explained(
    client: TestClient,
) -> None:
    body = make_zip(
        {
            "b/second.md": f"# Second\n\n{MEMO}".encode(),
            "a-first.txt": "\ufeff".encode() + MEMO.encode(),
            "notes/": b"",
            "__MACOSX/._a-first.txt": b"\x00\x05",
            ".DS_Store": b"\x00",
            "slides.pdf": b"%PDF-1.4",
            "empty.txt": b"   \n",
            "latin1.txt": "Memorándum".encode("latin-1"),
        }
    )
    response = post_zip(client, body)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert [i["filename"] for i in data["items"]] == ["a-first.txt", "b/second.md"]
    assert data["items"][0]["text_content"] == MEMO  # the byte-order mark is dropped
    reasons = {r["filename"]: r["reason"] for r in data["rejected"]}
    assert reasons == {
        "empty.txt": "empty",
        "latin1.txt": "not_utf8",
        "slides.pdf": "unsupported_type",
    }


def test_a_highly_compressed_entry_is_read_only_up_to_its_limit(client: TestClient) -> None:
    bomb = make_zip({"bomb.txt": b"a" * (64 * 1024 * 1024)})
    assert len(bomb) < 200_000
    response = post_zip(client, bomb)
    assert response.status_code == 200, response.text
    [refused] = response.json()["data"]["rejected"]
    assert refused["reason"] == "too_long"


def test_an_archive_expanding_past_the_total_budget_is_refused(client: TestClient) -> None:
    per_entry = 30_000  # under one file's limit (4 bytes x 10,000 characters)
    count = MAX_TOTAL_BYTES // per_entry + 2
    body = make_zip({f"m{i:03}.txt": b"b" * per_entry for i in range(count)})
    response = post_zip(client, body)
    assert response.status_code == 413, response.text
    assert response.json()["errors"][0]["field"] == "file"


def test_too_many_entries_not_a_zip_and_the_wrong_type_are_clear_4xx(client: TestClient) -> None:
    many = make_zip({f"{i}.txt": b"x" for i in range(MAX_ENTRIES + 1)}, zipfile.ZIP_STORED)
    assert post_zip(client, many).status_code == 422
    not_zip = post_zip(client, b"PK\x03\x04 definitely not a zip")
    assert not_zip.status_code == 422
    assert not_zip.json()["errors"][0]["code"] == "validation_error"
    wrong_type = post_zip(client, make_zip({"a.txt": MEMO.encode()}), "text/plain")
    assert wrong_type.status_code == 415
    huge = post_zip(client, b"\x00" * (3 * 1024 * 1024))
    assert huge.status_code == 413
