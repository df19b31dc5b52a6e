"""The Batches and Integrations tabs in a real browser against the real stack:
a CSV of the 11 sample memos evaluated as one batch and exported; an API token
created in the page, used with plain HTTP, then revoked in the page."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.browser import DESKTOP
from tests.e2e.conftest import App, web_stack
from tests.e2e.test_accessibility import AXE, axe_violations
from tests.support.auth import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    MEMO,
    USER_PASSWORD,
    auth_overrides,
    bearer,
    create_user,
)
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    overrides = auth_overrides(BCRYPT_ROUNDS="4", WEBHOOK_ALLOWED_HOSTS="127.0.0.1")
    with web_stack(tmp_path_factory, "web-integrations", **overrides) as s:
        yield s


@pytest.fixture(scope="module")
def user(stack: Stack) -> str:
    admin = bearer(stack, ADMIN_USERNAME, ADMIN_PASSWORD)
    return str(create_user(stack, admin, "integrator")["username"])


@pytest.fixture
def app(browser: Browser, stack: Stack) -> Iterator[App]:
    # Its own context: confirmations are accepted (revoke), and axe may be injected.
    context = browser.new_context(
        viewport=DESKTOP, bypass_csp=True, reduced_motion="reduce", accept_downloads=True
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    instance = App(page, stack)
    page.on("pageerror", lambda exc: instance.errors.append(f"pageerror: {exc}"))
    page.on("dialog", lambda dialog: (instance.dialogs.append(dialog.message), dialog.accept()))
    yield instance
    context.close()


def assert_axe_clean(app: App) -> None:
    if AXE.exists():
        assert axe_violations(app, AXE) == []


def test_bulk_upload_of_the_sample_memos_completes_and_exports_one_row_each(
    app: App, user: str, tmp_path: Path, memos: list[dict[str, Any]]
) -> None:
    assert len(memos) == 11
    upload = tmp_path / "memos.csv"
    with upload.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)  # quotes the memos' commas, quotes and line breaks
        writer.writerow(["external_id", "title", "text"])
        for entry in memos:
            writer.writerow([entry["file"], entry["topic"], entry["text"]])
        writer.writerow(["blank", "An empty row", "   "])

    page = app.sign_in(user, USER_PASSWORD, "#/batches")
    page.get_by_label("CSV file, text files or a zip").set_input_files(str(upload))
    expect(page.locator("#batch-summary")).to_have_text("11 memos ready to send; 1 not included.")
    expect(page.locator("#batch-rejected li")).to_have_text(
        ["memos.csv, row 13: the memo is empty"]
    )
    page.get_by_label("Batch name (optional)").fill("Sample set")
    page.get_by_role("button", name="Evaluate all").click()

    expect(page).to_have_url(re.compile(r"#/batches/[\w-]+$"))
    expect(page.locator("#batch-counts")).to_have_text("11 of 11 done, 0 failed", timeout=90_000)
    expect(page.locator("#batch-progress")).to_have_attribute("aria-valuenow", "100")
    rows = page.locator(".batch-table tbody tr")
    expect(rows).to_have_count(11)
    expect(page.locator(".batch-table tbody tr[data-status='completed']")).to_have_count(11)
    first_link = rows.first.get_by_role("link")
    assert re.fullmatch(r"#/overall/[\w-]+", first_link.get_attribute("href") or "")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    exported = list(csv.DictReader(io.StringIO(Path(download_info.value.path()).read_text())))
    assert len(exported) == 11
    assert {row["status"] for row in exported} == {"completed"}
    assert all(float(row["overall_score"]) > 0 for row in exported)
    assert {row["language"] for row in exported} == {"en", "es"}

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export JSON").click()
    items = json.loads(Path(download_info.value.path()).read_text())["items"]
    assert len(items) == 11

    expect(page.locator("#batch-recent")).to_contain_text("Sample set")
    assert_axe_clean(app)
    assert app.errors == []


def test_a_zip_of_the_sample_memos_is_opened_by_the_api_and_previewed(
    app: App, user: str, tmp_path: Path, memos: list[dict[str, Any]]
) -> None:
    upload = tmp_path / "memos.zip"
    with zipfile.ZipFile(upload, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for entry in memos:
            archive.writestr(f"memos/{entry['file']}", entry["text"])
        archive.writestr("memos/cover.pdf", b"%PDF-1.4")
    # Writers find bulk upload from the Write tab.
    page = app.sign_in(user, USER_PASSWORD, "#/write")
    page.get_by_role("link", name="Many memos at once? Evaluate them as a batch").click()
    expect(page).to_have_url(re.compile(r"#/batches$"))
    page.get_by_label("CSV file, text files or a zip").set_input_files(str(upload))
    expect(page.locator("#batch-summary")).to_have_text("11 memos ready to send; 1 not included.")
    expect(page.locator("#batch-rejected li")).to_have_text(
        ["memos.zip: memos/cover.pdf: only .txt and .md files in a zip are read"]
    )
    expect(page.get_by_role("button", name="Evaluate all")).to_be_enabled()
    assert app.errors == []


def test_the_csv_reader_follows_rfc_4180_and_explains_every_rejection(
    app: App, user: str, tmp_path: Path
) -> None:
    good = tmp_path / "class.csv"
    # CRLF records, a quoted field with a doubled quote, a comma and a line break,
    # a byte-order mark, the text column not first, and a short row.
    good.write_bytes(
        "\ufeffname,Text\r\n"
        'ana,"He said ""approve $2M"", then left.\r\nSecond line, same memo."\r\n'
        "ben\r\n"
        "cy,Plain memo text\r\n".encode()
    )
    broken = tmp_path / "broken.csv"
    broken.write_text('text\n"never closed\nstill open\n')
    no_text = tmp_path / "grades.csv"
    no_text.write_text("name,grade\nana,A\n")
    other = tmp_path / "memo.docx"
    other.write_bytes(b"PK")
    page = app.sign_in(user, USER_PASSWORD, "#/batches")
    page.get_by_label("CSV file, text files or a zip").set_input_files(
        [str(good), str(broken), str(no_text), str(other)]
    )
    expect(page.locator("#batch-summary")).to_have_text("2 memos ready to send; 4 not included.")
    expect(page.locator("#batch-rejected li")).to_have_text(
        [
            "class.csv, row 3: the memo is empty",
            "broken.csv: a quoted field opened on line 2 is never closed",
            "grades.csv: no 'text' column in the header row",
            "memo.docx: only .csv, .txt, .md and .zip files are read",
        ]
    )
    with page.expect_request(lambda r: r.url.endswith("/api/v1/batches")) as sent:
        page.get_by_role("button", name="Evaluate all").click()
    items = sent.value.post_data_json["items"]
    assert [i["text_content"] for i in items] == [
        'He said "approve $2M", then left.\r\nSecond line, same memo.',
        "Plain memo text",
    ]
    expect(page).to_have_url(re.compile(r"#/batches/[\w-]+$"))
    assert app.errors == []


def test_a_token_created_in_the_page_works_until_it_is_revoked_there(
    app: App, stack: Stack, user: str
) -> None:
    page = app.sign_in(user, USER_PASSWORD, "#/integrations")
    expect(page.locator("#tokens-anonymous")).to_be_hidden()
    # Opened before signing in: the webhooks that needed the login load once it is there.
    expect(page.locator("#webhooks-empty")).to_be_visible()
    expect(page.locator("#webhook-error")).to_be_hidden()
    page.get_by_label("Token name").fill("Grading script")
    page.get_by_label("Access").select_option("write")
    page.get_by_label("Expires after").select_option("30")
    page.get_by_role("button", name="Create token").click()

    secret_box = page.get_by_label("Your new API token")
    expect(secret_box).to_have_value(re.compile(r"^mac_[\w-]{40,}$"))
    token = secret_box.input_value()
    row = page.locator("#token-rows tr", has_text="Grading script")
    expect(row).to_contain_text(token[:12])
    expect(row).to_contain_text("never used")
    assert_axe_clean(app)

    api = f"{stack.api_url}/api/v1"
    headers = {"Authorization": f"Bearer {token}"}
    submitted = httpx.post(
        f"{api}/evaluations/submit", json={"text_content": MEMO}, headers=headers, timeout=15
    )
    assert submitted.status_code == 202, submitted.text
    evaluation_id = submitted.json()["data"]["evaluation_id"]
    polled = httpx.get(f"{api}/evaluations/{evaluation_id}/status", headers=headers, timeout=15)
    assert polled.status_code == 200, polled.text

    # Shown once: after a reload the page lists the token but no longer has its secret.
    page.reload()
    page.wait_for_selector("html[data-ready='true']")
    expect(page.locator("#session-indicator")).to_have_attribute("data-state", "user")
    row = page.locator("#token-rows tr", has_text="Grading script")
    expect(row).to_contain_text("last used")
    assert token not in page.content()
    expect(page.locator("#token-reveal")).to_be_hidden()

    row.get_by_role("button", name="Revoke the token Grading script").click()
    expect(row).to_contain_text("Revoked")
    assert app.dialogs and "Grading script" in app.dialogs[-1]
    refused = httpx.get(f"{api}/evaluations/{evaluation_id}/status", headers=headers, timeout=15)
    assert refused.status_code == 401
    assert app.errors == []


def test_webhook_endpoints_are_added_and_deleted_and_the_signing_secret_revealed(
    app: App, user: str
) -> None:
    page = app.sign_in(user, USER_PASSWORD, "#/integrations")
    page.get_by_label("Endpoint URL").fill("http://127.0.0.1:9/hook")
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.get_by_label("The endpoint's signing secret")).to_have_value(
        re.compile(r"^whsec_[0-9a-f]{64}$")
    )
    endpoint = page.locator("#webhook-rows li", has_text="http://127.0.0.1:9/hook")
    expect(endpoint).to_have_count(1)

    page.get_by_role("button", name="Show the secret").click()
    expect(page.get_by_label("Callback signing secret")).to_have_value(re.compile(r"^whsec_"))
    expect(page.get_by_role("button", name="Hide the secret")).to_have_attribute(
        "aria-expanded", "true"
    )

    endpoint.get_by_role("button", name="Delete the endpoint http://127.0.0.1:9/hook").click()
    expect(endpoint).to_have_count(0)
    expect(page.locator("#webhooks-empty")).to_be_visible()
    assert app.errors == []


def test_signed_out_visitors_get_an_explanation_instead_of_tokens(app: App) -> None:
    page = app.open("#/integrations").page
    expect(page.locator("#session-indicator")).to_have_attribute("data-state", "signed-out")
    expect(page.get_by_text("Sign in to create API tokens")).to_be_visible()
    expect(page.locator("#tokens-area")).to_be_hidden()
    assert_axe_clean(app)
