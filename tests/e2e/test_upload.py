"""Uploading a document in the Write tab, in a real browser against real processes:
the extracted text appears in the editor for confirmation, is submitted as usual, and
the highlighted passages of the feedback are slices of exactly that text."""

from __future__ import annotations

import base64
import re

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import App, new_app
from tests.support.documents import (
    BODY,
    CLOSING,
    HEADER_LINES,
    HEADING,
    docx_bytes,
    encrypted_pdf,
    png_bytes,
    scanned_pdf,
)
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PARAGRAPHS = (
    f"{BODY} The budget is $1.2M and the return is 3.4x within 18 months.",
    CLOSING,
)
NUMBERED = ("Approve the $1.2M budget by June 1", "Start enrolment in July")
EXPECTED = "\n\n".join([HEADING, *HEADER_LINES, *PARAGRAPHS, f"1. {NUMBERED[0]}\n2. {NUMBERED[1]}"])


def choose(app: App, name: str, data: bytes, mime: str) -> None:
    app.page.set_input_files(
        "#upload-input", files=[{"name": name, "mimeType": mime, "buffer": data}]
    )


def test_an_uploaded_docx_is_shown_submitted_and_highlighted_on_its_own_text(
    offline_app: App,
) -> None:
    app = offline_app.open()
    page = app.page
    expect(page.locator("#upload-btn")).to_have_text("Upload a file")
    choose(
        app, "Remote monitoring.docx", docx_bytes(paragraphs=PARAGRAPHS, numbered=NUMBERED), DOCX
    )

    # The text is in the editor, with the file name and its length, for confirmation.
    expect(page.locator("#memo-text")).to_have_value(EXPECTED)
    note = page.locator("#upload-note")
    expect(note).to_be_visible()
    expect(note.locator("[data-slot='summary']")).to_have_text(
        f"Text from Remote monitoring.docx: {len(EXPECTED):,} characters. Check it, edit it "
        "if needed, then get feedback."
    )
    expect(note.locator("[data-slot='warnings']")).to_be_hidden()
    expect(page.locator("#char-count")).to_contain_text(f"{len(EXPECTED):,} / 10,000")
    expect(page.locator("#submit-btn")).to_be_enabled()
    assert "POST /documents/extract" in app.api_calls

    # Submitted as usual: the feedback's passages are slices of the extracted text.
    page.click("#submit-btn")
    evaluation_id = app.wait_for_result()
    result = app.evaluation(evaluation_id)
    segments = sorted(result["segment_feedback"], key=lambda s: s["start"])
    assert segments
    for segment in segments:
        assert EXPECTED[segment["start"] : segment["end"]] == segment["segment"]
    page.click("#tab-detailed")
    marks = app.view("detailed", "ready").locator("mark.hl")
    expect(marks).to_have_count(len(segments))
    shown = marks.evaluate_all("ms => ms.map(m => m.firstChild.textContent)")
    assert shown == [s["segment"] for s in segments]
    assert app.errors == []


def test_undo_puts_back_the_text_that_was_there(offline_app: App) -> None:
    app = offline_app.open()
    page = app.page
    page.fill("#memo-text", "My own draft.")
    choose(app, "memo.md", b"# Upload\n\nApprove the budget.", "text/markdown")
    expect(page.locator("#memo-text")).to_have_value("# Upload\n\nApprove the budget.")
    page.click("#upload-undo")
    expect(page.locator("#memo-text")).to_have_value("My own draft.")
    expect(page.locator("#upload-note")).to_be_hidden()


def test_a_file_dropped_on_the_form_is_read(offline_app: App) -> None:
    app = offline_app.open()
    page = app.page
    memo = "TO: Board\n\nWe request approval of the $300,000 analytics budget by May."
    transfer = page.evaluate_handle(
        """([b64, name]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type: "text/plain" }));
            return transfer;
        }""",
        [base64.b64encode(memo.encode()).decode(), "memo.txt"],
    )
    page.dispatch_event("#write-form", "dragenter", {"dataTransfer": transfer})
    expect(page.locator("#write-form")).to_have_attribute("data-drop", "over")
    expect(page.locator(".drop-overlay")).to_be_visible()
    page.dispatch_event("#write-form", "drop", {"dataTransfer": transfer})
    expect(page.locator("#memo-text")).to_have_value(memo)
    expect(page.locator("#write-form")).to_have_attribute("data-drop", "idle")


def test_bad_files_get_a_clear_inline_error_and_leave_the_editor_alone(offline_app: App) -> None:
    app = offline_app.open()
    page = app.page
    page.fill("#memo-text", "Draft kept.")
    error = page.locator("#upload-error")
    choose(app, "photo.pdf", png_bytes(), "application/pdf")  # a PNG renamed .pdf
    expect(error).to_have_text(
        "This kind of file can't be read. Upload a Word document (.docx), a PDF, or a text "
        "file (.txt or .md)."
    )
    expect(error).to_have_attribute("role", "alert")
    choose(app, "locked.pdf", encrypted_pdf(), "application/pdf")
    expect(error).to_have_text(
        "This PDF is protected with a password. Save an unprotected copy and upload that."
    )
    choose(app, "latin1.txt", "Memorándum".encode("latin-1"), "text/plain")
    expect(error).to_contain_text("isn't saved as UTF-8")
    choose(app, "long.txt", b"memo " * 2001, "text/plain")
    expect(error).to_have_text(
        "The document's text is 10,004 characters; the limit is 10,000. Shorten it and upload "
        "it again, or paste part of it."
    )
    # Too large for the configured limit: refused in the browser, nothing is sent.
    calls = len(app.api_calls)
    choose(app, "huge.txt", b"a" * (5 * 1024 * 1024 + 1), "text/plain")
    expect(error).to_have_text("The file is 5.1 MB; files up to 5 MB can be uploaded.")
    assert len(app.api_calls) == calls
    expect(page.locator("#memo-text")).to_have_value("Draft kept.")
    expect(page.locator("#upload-note")).to_be_hidden()
    # The refused uploads' 4xx responses are the only console errors.
    assert all(re.search(r"status of 4(15|22)", e) for e in app.errors), app.errors


def test_a_scanned_pdf_is_explained_in_spanish_with_its_page_count(
    browser: Browser, offline_stack: Stack
) -> None:
    app = new_app(browser, offline_stack, locale="es-ES")
    try:
        app.open()
        page = app.page
        expect(page.locator("#upload-btn")).to_have_text("Subir un archivo")
        expect(page.locator("#upload-hint")).to_contain_text("hasta 5 MB")
        choose(app, "escaneo.pdf", scanned_pdf(pages=2), "application/pdf")
        expect(page.locator("#upload-error")).to_have_text(
            "Las 2 páginas de este PDF son imágenes sin capa de texto (¿un escaneo?). Exporta "
            "el PDF desde el documento original o aplícale reconocimiento de texto (OCR) antes."
        )
        choose(app, "memo.txt", "Aprobar el presupuesto de 300.000 €.".encode(), "text/plain")
        expect(page.locator("#upload-note [data-slot='summary']")).to_have_text(
            "Texto de memo.txt: 36 caracteres. Revísalo, edítalo si hace falta y pide la "
            "evaluación."
        )
        expect(page.locator("#upload-error")).to_be_hidden()
    finally:
        app.page.context.close()
