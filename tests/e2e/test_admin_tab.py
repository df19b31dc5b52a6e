"""The Admin tab against real api, worker and web processes: an administrator
edits rubric.yaml in the browser (live validation naming line and field, save
with a reason, the history diff, rollback to the original bytes); other people
never see the tab."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import create_engine
from sqlalchemy.orm import Session as DbSession

from memoai.models import AuthEvent
from tests.e2e.conftest import App, new_app, web_stack
from tests.support.auth import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    USER_PASSWORD,
    auth_overrides,
    bearer,
    create_user,
)
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def admin_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with web_stack(tmp_path_factory, "web-admin", **auth_overrides()) as stack:
        yield stack


@pytest.fixture
def app(browser: Browser, admin_stack: Stack) -> Iterator[App]:
    instance = new_app(browser, admin_stack)
    yield instance
    instance.page.context.close()


def open_tab(page: Page, tab: str) -> None:
    """Click a tab, through the menu when the tabs are collapsed into it."""
    toggle = page.locator(".menu-toggle")
    if toggle.is_visible():
        toggle.click()
    page.locator(f"#tab-{tab}").click()
    expect(page.locator(f"#panel-{tab}")).to_be_visible()


def caret_line(page: Page) -> int:
    return int(
        page.locator("#config-editor textarea").evaluate(
            "t => t.value.slice(0, t.selectionStart).split('\\n').length"
        )
    )


def test_admin_edits_rubric_with_validation_history_diff_and_rollback(
    app: App, admin_stack: Stack
) -> None:
    path = admin_stack.config_dir / "rubric.yaml"
    original = path.read_bytes()
    text = original.decode()
    page = app.sign_in(ADMIN_USERNAME, ADMIN_PASSWORD)

    open_tab(page, "admin")
    files = page.get_by_role("navigation", name="Configuration files")
    # Five categories, thirteen files.
    expect(files.locator(".config-category")).to_have_count(5)
    expect(files.locator(".config-file-btn")).to_have_count(13)
    files.get_by_role("button", name=re.compile(r"^rubric\.yaml")).click()
    editor = page.get_by_role("textbox", name="Content of rubric.yaml")
    expect(editor).to_have_value(text)
    # Line numbers for every line, and YAML keys coloured.
    expect(page.locator("#config-editor .code-num")).to_have_count(text.count("\n") + 1)
    # One "criteria" key per rubric (the default and the additional ones).
    keys = len(re.findall(r"^\s*criteria:", text, re.MULTILINE))
    assert keys == 2
    expect(page.locator("#config-editor .tok-key", has_text="criteria")).to_have_count(keys)

    # Break the schema: the weights no longer sum to 100.
    broken = text.replace("weight: 20", "weight: 25", 1)
    editor.fill(broken)
    expect(page.locator("#config-file [data-slot='dirty']")).to_be_visible()
    problem = page.locator("#config-problems button.problem").first
    expect(problem).to_be_visible()
    expect(page.locator("#config-validation-status")).to_contain_text("problem")
    where = problem.locator(".problem-where").inner_text()
    match = re.match(r"Line (\d+), (.+):", where)
    assert match, where
    line = int(match.group(1))
    assert 1 <= line <= broken.count("\n") + 1
    assert "weight" in problem.inner_text().lower(), problem.inner_text()
    # The gutter marks the line; choosing the problem puts the caret on it.
    expect(page.locator("#config-editor .code-num.has-problem")).to_have_text([str(line)])
    # From the keyboard: the problem is a button; Enter moves the caret there.
    problem.focus()
    page.keyboard.press("Enter")
    expect(editor).to_be_focused()
    assert caret_line(page) == line

    # Saving needs a reason; invalid content is refused and the file untouched.
    page.locator("#config-save-btn").click()
    expect(page.locator("#config-save-error")).to_have_text("Say why you are making this change.")
    page.locator("#config-reason").fill("Try heavier structure")
    page.locator("#config-save-btn").click()
    expect(page.locator("#config-save-error")).to_contain_text("Not saved")
    assert path.read_bytes() == original

    # Fix it: move five points from evidence to structure, then save.
    fixed = broken.replace("weight: 20", "weight: 15", 1)
    editor.fill(fixed)
    expect(page.locator("#config-validation-status")).to_have_text("Valid")
    expect(page.locator("#config-problems li")).to_have_count(0)
    page.locator("#config-reason").fill("Weight structure above evidence")
    page.locator("#config-save-btn").click()
    expect(page.locator("#config-validation-status")).to_have_text(
        re.compile(r"rubric\.yaml saved as version \d+\.")
    )
    expect(page.locator("#config-file [data-slot='dirty']")).to_be_hidden()
    assert path.read_text() == fixed

    # History: the save (newest) and the baseline the first save recorded.
    versions = page.locator("#config-versions > li")
    expect(versions).to_have_count(2)
    expect(versions.first).to_contain_text("Weight structure above evidence")
    versions.first.get_by_role("button", name="Show changes").click()
    diff = page.locator("#config-diff")
    expect(diff).to_be_visible()
    # Counts in words: "2 lines removed (lines 30, 37). 2 lines added (…)."
    expect(diff.locator(".diff-summary")).to_have_text(
        re.compile(r"^2 lines removed \(lines \d+, \d+\)\. 2 lines added \(lines \d+, \d+\)\.$")
    )
    removed = diff.locator("td.diff-text.diff-del")
    added = diff.locator("td.diff-text.diff-add")
    expect(removed).to_have_count(2)
    expect(added).to_have_count(2)
    expect(removed.first).to_contain_text("weight: 20")
    expect(added.first).to_contain_text("weight: 25")
    expect(added.nth(1)).to_contain_text("weight: 15")

    # Roll back to the baseline, confirming in the dialog.
    versions.nth(1).get_by_role("button", name=re.compile(r"Roll back to v\d+")).click()
    dialog = page.get_by_role("dialog", name=re.compile("Roll back to version"))
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name=re.compile(r"Roll back to v\d+")).click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#config-validation-status")).to_contain_text("rolled back")
    expect(editor).to_have_value(text)
    expect(versions).to_have_count(3)

    admin = bearer(admin_stack, ADMIN_USERNAME, ADMIN_PASSWORD)
    with admin_stack.client() as client:
        data = client.get("/admin/config/rubric", headers=admin).json()["data"]
    assert data["content"].encode() == original
    assert path.read_bytes() == original
    # Only the expected refusals: verify while signed out (401), the invalid save (400).
    unexpected = [e for e in app.errors if "status of 401" not in e and "status of 400" not in e]
    assert unexpected == [], unexpected


def test_unsaved_edits_are_guarded_when_opening_another_file(app: App) -> None:
    page = app.sign_in(ADMIN_USERNAME, ADMIN_PASSWORD)
    open_tab(page, "admin")
    files = page.get_by_role("navigation", name="Configuration files")
    files.get_by_role("button", name=re.compile(r"^prompt\.yaml")).click()
    editor = page.get_by_role("textbox", name="Content of prompt.yaml")
    expect(editor).not_to_have_value("")
    editor.press("End")
    editor.type("  # note")
    files.get_by_role("button", name=re.compile(r"^frontend\.yaml")).click()
    dialog = page.get_by_role("dialog", name="Leave without saving?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(editor).to_have_value(re.compile("# note"))
    files.get_by_role("button", name=re.compile(r"^frontend\.yaml")).click()
    dialog.get_by_role("button", name="Discard and open").click()
    expect(page.get_by_role("textbox", name="Content of frontend.yaml")).to_be_visible()


def test_a_version_too_large_to_compare_offers_both_texts_to_download(app: App) -> None:
    page = app.sign_in(ADMIN_USERNAME, ADMIN_PASSWORD)
    # A history with one huge version, stubbed at the web proxy: past the diff's
    # size cap the page must not try to compare it.
    before = "".join(f"line {n}: old\n" for n in range(6000))
    after = "".join(f"line {n}: new\n" for n in range(6000))
    version = {
        "version_id": 991, "version_number": 7, "change_reason": "Huge rewrite",
        "changed_by": ADMIN_USERNAME, "created_at": "2026-01-02T03:04:05Z",
    }  # fmt: skip
    detail = {**version, "content": after, "previous_content": before}

    def envelope(data: object) -> str:
        return json.dumps({"data": data, "meta": {}, "errors": []})

    page.route(
        re.compile(r".*/api/v1/admin/config/rubric/history$"),
        lambda route: route.fulfill(
            content_type="application/json", body=envelope({"versions": [version]})
        ),
    )
    page.route(
        re.compile(r".*/api/v1/admin/config/rubric/versions/991$"),
        lambda route: route.fulfill(content_type="application/json", body=envelope(detail)),
    )
    open_tab(page, "admin")
    files = page.get_by_role("navigation", name="Configuration files")
    files.get_by_role("button", name=re.compile(r"^rubric\.yaml")).click()
    page.locator("#config-versions > li").first.get_by_role("button", name="Show changes").click()
    diff = page.locator("#config-diff")
    expect(diff.locator(".diff-summary")).to_contain_text("Too large to compare")
    expect(diff.locator("table")).to_have_count(0)
    links = diff.locator(".diff-downloads a")
    expect(links).to_have_text(["Download Before", "Download v7"])
    expect(links.nth(0)).to_have_attribute("download", "rubric.before-v7.yaml")
    for link, text in ((links.nth(0), before), (links.nth(1), after)):
        with page.expect_download() as info:
            link.click()
        path = info.value.path()
        assert path is not None
        with open(path, encoding="utf-8") as handle:
            assert handle.read() == text
    # Only the expected refusal: verify while signed out (401).
    assert [e for e in app.errors if "status of 401" not in e] == []


def test_admin_sees_status_sessions_users_and_events(app: App, admin_stack: Stack) -> None:
    page = app.sign_in(ADMIN_USERNAME, ADMIN_PASSWORD)
    open_tab(page, "admin")
    status = page.locator("#admin-status")
    expect(status.locator(".status-item")).to_have_count(7)
    expect(status.locator(".status-item", has_text="Database")).to_contain_text("OK")

    sessions = page.locator("#admin-sessions")
    expect(sessions.locator("tbody tr", has_text=ADMIN_USERNAME).first).to_be_visible()
    expect(sessions.get_by_text("This session")).to_be_visible()
    # Another session of the admin's (a bearer login), revoked from the browser.
    other = bearer(admin_stack, ADMIN_USERNAME, ADMIN_PASSWORD)
    with admin_stack.client() as client:
        listed = client.get("/admin/sessions?active=true", headers=other).json()["data"]
    session_id = next(item["id"] for item in listed["items"] if item["current"])
    sessions.get_by_role("button", name="Refresh").click()
    revoke = sessions.locator(f"[data-revoke='{session_id}']")
    expect(revoke).to_have_accessible_name(f"Revoke the session of {ADMIN_USERNAME}")
    revoke.click()
    page.get_by_role("dialog", name="Revoke this session?").get_by_role(
        "button", name="Revoke"
    ).click()
    expect(revoke).to_have_count(0)
    with admin_stack.client() as client:
        assert client.get("/auth/verify", headers=other).status_code == 401

    # Sign-in settings: one field changed, saved to auth.yaml as a new version.
    auth = page.locator("#admin-auth")
    attempts = auth.get_by_label("Failed sign-ins before lockout")
    expect(attempts).not_to_have_value("")
    wanted = int(attempts.input_value()) + 3
    attempts.fill(str(wanted))
    auth.get_by_label("Reason for the change").fill("Fewer lockouts")
    auth.get_by_role("button", name="Save sign-in settings").click()
    expect(auth.locator("#auth-saved")).to_contain_text("Saved as version")
    admin = bearer(admin_stack, ADMIN_USERNAME, ADMIN_PASSWORD)
    with admin_stack.client() as client:
        settings = client.get("/admin/auth/config", headers=admin).json()["data"]
    assert settings["max_login_attempts"] == wanted
    assert f"max_login_attempts: {wanted}" in (admin_stack.config_dir / "auth.yaml").read_text()

    users = page.locator("#admin-users")
    users.get_by_label("Username").fill("web-created")
    users.get_by_label("Password").fill(USER_PASSWORD)
    users.get_by_role("button", name="Create user").click()
    row = users.locator("tbody tr", has_text="web-created")
    expect(row).to_contain_text("Active")
    row.get_by_role("button", name="Deactivate").click()
    page.get_by_role("dialog", name="Deactivate this account?").get_by_role(
        "button", name="Deactivate"
    ).click()
    expect(row).to_contain_text("Deactivated")

    events = page.locator("#admin-events")
    events.get_by_label("Event", exact=True).select_option("user_created")
    events.get_by_role("button", name="Filter").click()
    expect(events.locator("tbody tr").first).to_contain_text("user_created")
    expect(events.locator("tbody tr", has_text="login_success")).to_have_count(0)


def test_a_signed_in_user_who_is_not_an_admin_never_sees_admin_or_debug(
    app: App, admin_stack: Stack
) -> None:
    admin = bearer(admin_stack, ADMIN_USERNAME, ADMIN_PASSWORD)
    user = create_user(admin_stack, admin, "plain-user")
    page = app.open("#/admin").page
    # Signed out, a deep link to Admin lands on Write.
    expect(page.locator("#panel-write")).to_be_visible()
    expect(page.locator("#tab-admin")).to_be_hidden()
    app.sign_in(user["username"], USER_PASSWORD)
    page.goto(f"{admin_stack.web_url}/#/admin")
    page.wait_for_selector("html[data-ready='true']")
    expect(page.locator("#session-indicator")).to_have_attribute("data-state", "user")
    expect(page.locator("#panel-write")).to_be_visible()
    expect(page.locator("#panel-admin")).to_be_hidden()
    expect(page.locator("#tab-admin")).to_be_hidden()
    expect(page.locator("#tab-debug")).to_be_hidden()
    assert not any("/admin/" in call for call in app.api_calls), app.api_calls


def test_a_deep_link_opens_admin_once_the_admin_is_known(app: App) -> None:
    app.sign_in(ADMIN_USERNAME, ADMIN_PASSWORD)
    page = app.page
    page.goto(f"{app.stack.web_url}/#/admin")
    page.reload()
    expect(page.locator("#panel-admin")).to_be_visible()
    expect(page.locator("#tab-admin")).to_have_attribute("aria-current", "page")


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def test_validate_all_and_bulk_import_check_first_then_apply(app: App, admin_stack: Stack) -> None:
    frameworks = admin_stack.config_dir / "frameworks.yaml"
    before = frameworks.read_text()
    page = app.sign_in(ADMIN_USERNAME, ADMIN_PASSWORD)
    open_tab(page, "admin")
    bulk = page.locator("#config-bulk")

    page.get_by_role("button", name="Validate all files").click()
    expect(bulk.locator(".bulk-title")).to_have_text("Every file is valid.")
    expect(bulk.locator(".bulk-list > li")).to_have_count(13)

    # An archive with a broken file: checked, refused, nothing to apply.
    rubric = (admin_stack.config_dir / "rubric.yaml").read_text()
    broken = _zip({"rubric.yaml": rubric.replace("weight: 20", "weight: 29", 1)})
    page.set_input_files(
        "#config-import-file",
        files=[{"name": "broken.zip", "mimeType": "application/zip", "buffer": broken}],
    )
    page.get_by_role("button", name="Check import").click()
    expect(bulk.locator(".bulk-title")).to_contain_text("not applied")
    expect(bulk.locator("li.bulk-bad")).to_contain_text("rubric")
    expect(page.get_by_role("button", name="Apply import")).to_be_hidden()

    # A valid archive: checked (nothing written yet), then applied after confirming.
    changed = before + "\n# Imported from the browser test.\n"
    good = _zip({"frameworks.yaml": changed, "rubric.yaml": rubric})
    page.set_input_files(
        "#config-import-file",
        files=[{"name": "good.zip", "mimeType": "application/zip", "buffer": good}],
    )
    page.get_by_role("button", name="Check import").click()
    expect(bulk.locator(".bulk-title")).to_contain_text("The import is valid")
    expect(bulk.locator("li", has_text="frameworks")).to_contain_text("changed")
    expect(bulk.locator("li", has_text="rubric")).to_contain_text("unchanged")
    assert frameworks.read_text() == before
    page.get_by_role("button", name="Apply import").click()
    page.get_by_role("dialog", name="Apply this import?").get_by_role(
        "button", name="Apply import"
    ).click()
    expect(bulk.locator(".bulk-title")).to_have_text("The import was applied.")
    assert frameworks.read_text() == changed


def test_a_saved_system_file_shows_restart_required_until_rolled_back(app: App) -> None:
    page = app.sign_in(ADMIN_USERNAME, ADMIN_PASSWORD)
    open_tab(page, "admin")
    files = page.get_by_role("navigation", name="Configuration files")
    files.get_by_role("button", name=re.compile(r"^logging\.yaml")).click()
    editor = page.get_by_role("textbox", name="Content of logging.yaml")
    expect(editor).not_to_have_value("")
    head = page.locator("#config-file")
    expect(head.locator("[data-slot='kind']")).to_have_text("System")
    expect(head.locator("[data-slot='reload']")).to_have_text("Applies after a restart")
    restart = head.locator("[data-slot='restart']")
    expect(restart).to_be_hidden()
    original = editor.input_value()

    editor.fill(original + "# reviewed\n")
    page.locator("#config-reason").fill("Reviewed the logging settings")
    page.locator("#config-save-btn").click()
    # The running processes loaded the old bytes: a restart is needed.
    expect(restart).to_be_visible()
    expect(head.locator("[data-slot='restart-note']")).to_be_visible()

    page.locator("#config-versions > li").nth(1).get_by_role(
        "button", name=re.compile(r"Roll back to v\d+")
    ).click()
    page.get_by_role("dialog", name=re.compile("Roll back")).get_by_role(
        "button", name=re.compile("Roll back")
    ).click()
    expect(editor).to_have_value(original)
    expect(restart).to_be_hidden()


def test_sign_in_events_page_through_a_long_list(app: App, admin_stack: Stack) -> None:
    # Sixty failures of one name, written straight to the stack's database.
    engine = create_engine(f"sqlite:///{admin_stack.root / 'data' / 'memoai.db'}")
    with DbSession(engine) as db, db.begin():
        for n in range(60):
            db.add(
                AuthEvent(
                    event_type="login_failed",
                    success=False,
                    username="pager-probe",
                    ip_address=f"192.0.2.{n}",
                )
            )
    engine.dispose()

    page = app.sign_in(ADMIN_USERNAME, ADMIN_PASSWORD)
    open_tab(page, "admin")
    events = page.locator("#admin-events")
    events.get_by_label("Username").fill("pager-probe")
    events.get_by_role("button", name="Filter").click()
    rows = events.locator("tbody tr")
    expect(rows).to_have_count(50)
    expect(events.locator("[data-slot='total']")).to_have_text("Showing 50 of 60.")
    more = events.get_by_role("button", name="Show more")
    more.click()
    expect(rows).to_have_count(60)
    expect(events.locator("[data-slot='total']")).to_have_text("Showing 60 of 60.")
    expect(more).to_be_hidden()
    # Every event once: the second page continues the first, no repeats.
    ips = rows.locator("td:nth-child(5)").all_inner_texts()
    assert sorted(ips) == sorted(f"192.0.2.{n}" for n in range(60))
