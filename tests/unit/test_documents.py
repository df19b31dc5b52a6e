"""Text extraction from uploads (memoai.documents), one behaviour per test, on real
files built here: Word documents with python-docx, PDFs with ReportLab and pypdf,
zip bombs with zipfile, images with Pillow."""

from __future__ import annotations

import codecs
import io
import time
import zipfile

import pytest
from docx import Document
from docx.oxml import OxmlElement

from memoai.documents import Limits, extract_bytes, extract_file, isolation, word
from memoai.documents import errors as e
from memoai.documents.normalise import normalise
from memoai.documents.service import clean_filename
from memoai.platform.errors import MemoError
from memoai.platform.multipart import file_part
from tests.support.documents import (
    BODY,
    CLOSING,
    HEADER_LINES,
    HEADING,
    docx_bytes,
    encrypted_pdf,
    mixed_pdf,
    plain_zip,
    png_bytes,
    scanned_pdf,
    slow_pdf,
    text_pdf,
    with_extra_entries,
)

HEADER = "\n".join(HEADER_LINES)


def extract(data: bytes, name: str = "upload", **limits: float) -> object:
    return extract_bytes(data, name, Limits(**limits), isolated=False)  # type: ignore[arg-type]


def refusal(data: bytes, name: str = "upload", **limits: float) -> e.DocumentError:
    with pytest.raises(e.DocumentError) as caught:
        extract(data, name, **limits)
    return caught.value


# ------------------------------------------------------------------ Word


def test_docx_paragraphs_headings_lists_and_tables_become_lines_and_paragraphs() -> None:
    data = docx_bytes(
        bullets=["Extend to 600 patients", "Train the nurses"],
        numbered=["Approve the budget", "Start in July"],
        table=[["Cost", "$1.2M"], ["Payback", "11 months"]],
    )
    result = extract_bytes(data, "memo.docx", isolated=False)
    expected = "\n\n".join(
        [
            HEADING,
            *HEADER_LINES,
            BODY,
            CLOSING,
            "• Extend to 600 patients\n• Train the nurses\n1. Approve the budget\n2. Start in July",
            "Cost\t$1.2M\nPayback\t11 months",
        ]
    )
    assert result.text == expected
    assert result.detected_type == "docx"
    assert result.char_count == len(expected)
    assert result.filename == "memo.docx"
    assert result.warnings == []


def _tracked_docx() -> bytes:
    document = Document()
    paragraph = document.add_paragraph("We request ")
    inserted = OxmlElement("w:ins")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "$1.2M "
    run.append(text)
    inserted.append(run)
    deleted = OxmlElement("w:del")
    gone = OxmlElement("w:r")
    gone_text = OxmlElement("w:delText")
    gone_text.text = "$2M "
    gone.append(gone_text)
    deleted.append(gone)
    paragraph._p.append(deleted)
    paragraph._p.append(inserted)
    paragraph.add_run("to monitor patients.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_docx_tracked_changes_are_shown_accepted_with_a_warning() -> None:
    result = extract_bytes(_tracked_docx(), "tracked.docx", isolated=False)
    assert result.text == "We request $1.2M to monitor patients."
    assert [w.code for w in result.warnings] == ["docx_tracked_changes"]


def test_a_zip_bomb_docx_is_refused_before_python_docx_opens_it() -> None:
    # 40 parts of 1 MiB of zeros: each under the ratio floor, together over the budget.
    bomb = with_extra_entries(
        docx_bytes(), {f"word/media/pad{i}.bin": bytes(1024 * 1024) for i in range(40)}
    )
    assert len(bomb) < 200_000
    error = refusal(bomb, "bomb.docx")
    assert isinstance(error, e.DocxTooLarge)
    assert (error.status, error.code) == (413, "docx_too_large")
    assert error.details == {"reason": "uncompressed_size", "limit": word.MAX_UNCOMPRESSED}


def test_a_docx_part_expanding_past_the_ratio_is_refused() -> None:
    bomb = with_extra_entries(docx_bytes(), {"word/media/zeros.bin": bytes(8 * 1024 * 1024)})
    error = refusal(bomb, "ratio.docx")
    assert error.code == "docx_too_large"
    assert error.details == {"reason": "ratio", "limit": word.MAX_RATIO}


def test_a_docx_with_too_many_parts_is_refused() -> None:
    many = with_extra_entries(
        docx_bytes(), {f"extra/part{i}.xml": b"<a/>" for i in range(word.MAX_ENTRIES)}
    )
    error = refusal(many, "many.docx")
    assert error.code == "docx_too_large"
    assert error.details is not None and error.details["reason"] == "entries"


def test_a_truncated_docx_is_docx_invalid() -> None:
    data = docx_bytes()
    error = refusal(data[: len(data) // 2], "cut.docx")
    assert (error.status, error.code) == (422, "docx_invalid")


def test_a_docx_whose_document_xml_is_not_xml_is_docx_invalid() -> None:
    data = docx_bytes()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            body = source.read(info)
            target.writestr(
                info, b"<w:document>not closed" if info.filename == "word/document.xml" else body
            )
    assert refusal(out.getvalue(), "broken.docx").code == "docx_invalid"


def test_a_password_protected_word_file_is_named_as_such() -> None:
    # Word wraps an encrypted .docx in an OLE compound file with an EncryptedPackage stream.
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500) + "EncryptedPackage".encode("utf-16-le")
    assert refusal(ole, "locked.docx").code == "docx_encrypted"
    old_doc = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500) + "WordDocument".encode("utf-16-le")
    error = refusal(old_doc, "memo.doc")
    assert (error.status, error.code) == (415, "unsupported_type")


def test_a_docx_over_the_text_limit_says_how_long_it_is() -> None:
    data = docx_bytes(paragraphs=[BODY] * 60)
    error = refusal(data, "long.docx", max_chars=5000)
    assert error.code == "text_too_long"
    assert error.details is not None
    assert error.details["max_length"] == 5000
    assert error.details["length"] > 5000
    assert f"{error.details['length']:,} characters" in error.message


# ------------------------------------------------------------------ PDF


def test_pdf_wrapped_lines_are_joined_into_paragraphs_and_header_lines_kept() -> None:
    result = extract_bytes(text_pdf(), "memo.pdf", isolated=False)
    assert result.text == "\n\n".join([HEADING, HEADER, BODY, CLOSING])
    assert result.detected_type == "pdf"
    assert result.warnings == []


def test_pdf_pages_are_separated_by_a_blank_line() -> None:
    result = extract_bytes(text_pdf(pages=2), "two.pdf", isolated=False)
    one = "\n\n".join([HEADING, HEADER, BODY, CLOSING])
    assert result.text == f"{one}\n\n{one}"


def test_a_scanned_pdf_without_a_text_layer_is_pdf_no_text() -> None:
    error = refusal(scanned_pdf(pages=2), "scan.pdf")
    assert (error.status, error.code) == (422, "pdf_no_text")
    assert error.details == {"pages": 2}


def test_pages_without_text_in_an_otherwise_readable_pdf_are_a_warning() -> None:
    result = extract_bytes(mixed_pdf(), "mixed.pdf", isolated=False)
    assert result.text.startswith(HEADING)
    [warning] = result.warnings
    assert warning.code == "pdf_pages_without_text"
    assert warning.details == {"pages": [2], "count": 1, "total": 2}


def test_a_password_protected_pdf_is_pdf_encrypted() -> None:
    error = refusal(encrypted_pdf("secret"), "locked.pdf")
    assert (error.status, error.code) == (422, "pdf_encrypted")


def test_a_pdf_restricted_only_by_an_owner_password_is_read() -> None:
    result = extract_bytes(encrypted_pdf("", "owner-only"), "restricted.pdf", isolated=False)
    assert result.text.startswith(HEADING)


def test_a_damaged_pdf_is_pdf_invalid() -> None:
    assert refusal(b"%PDF-1.7\n1 0 obj << /Type /Catalog", "bad.pdf").code == "pdf_invalid"


def test_a_long_pdf_stops_early_and_says_it_is_at_least_that_long() -> None:
    error = refusal(text_pdf([BODY] * 12, pages=6), "long.pdf", max_chars=3000)
    assert error.code == "text_too_long"
    details = error.details
    assert details is not None
    assert details["length"] > 3000
    assert details["exact"] is False
    assert details["pages_read"] < details["pages"] == 6


# ------------------------------------------------------------------ type by content


def test_a_png_named_pdf_is_refused_as_what_it_is() -> None:
    error = refusal(png_bytes(), "memo.pdf")
    assert (error.status, error.code) == (415, "unsupported_type")
    assert error.details == {"detected": "a PNG image"}
    assert "PNG" in error.message


def test_a_txt_that_is_really_a_zip_is_refused() -> None:
    error = refusal(plain_zip({"memo.txt": b"hello"}), "memo.txt")
    assert (error.status, error.code) == (415, "unsupported_type")
    assert error.details == {"detected": "a zip archive"}


def test_a_docx_named_txt_is_read_as_a_docx() -> None:
    result = extract_bytes(docx_bytes(), "memo.txt", isolated=False)
    assert result.detected_type == "docx"


def test_a_pdf_header_after_junk_is_a_pdf_but_a_memo_mentioning_one_is_text() -> None:
    assert extract_bytes(b"\x00\x01\x02" + text_pdf(), "m.pdf", isolated=False).detected_type == (
        "pdf"
    )
    memo = "Our files start with %PDF-1.7, so the archive team can index them."
    assert extract(memo.encode(), "m.txt").text == memo  # type: ignore[attr-defined]


def test_binary_data_is_unsupported_not_a_decoding_error() -> None:
    assert refusal(bytes(range(256)) * 4, "data.txt").code == "unsupported_type"


# ------------------------------------------------------------------ text files


def test_utf8_text_with_or_without_a_bom_is_read() -> None:
    memo = "TO: Team\n\nCafé: approve $1.2M."
    assert extract(memo.encode()).text == memo  # type: ignore[attr-defined]
    assert extract(codecs.BOM_UTF8 + memo.encode()).text == memo  # type: ignore[attr-defined]


def test_utf16_text_is_read_by_its_bom() -> None:
    memo = "Señora: approve 😀 now."
    for bom, codec in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        assert extract(bom + memo.encode(codec), "m.txt").text == memo  # type: ignore[attr-defined]


def test_latin1_text_is_not_utf8_with_the_position() -> None:
    error = refusal("Memorándum".encode("latin-1"), "m.txt")
    assert (error.status, error.code) == (422, "not_utf8")
    assert error.details == {"position": 5}  # the "á"


def test_utf16_without_a_bom_and_utf32_are_refused_clearly() -> None:
    assert refusal("A memo in UTF-16".encode("utf-16-le"), "m.txt").code == "not_utf8"
    error = refusal(codecs.BOM_UTF32_LE + "memo".encode("utf-32-le"), "m.txt")
    assert error.code == "not_utf8"
    assert "UTF-32" in error.message


def test_markdown_is_kept_as_written() -> None:
    memo = "# Request\n\n- first\n- second\n\n**Decision** needed by June 1."
    result = extract_bytes(memo.encode(), "memo.md", isolated=False)
    assert (result.text, result.detected_type) == (memo, "text")


def test_a_text_over_the_limit_is_text_too_long_with_its_length() -> None:
    error = refusal(("a" * 10_001).encode(), "long.txt")
    assert error.code == "text_too_long"
    assert error.details == {"length": 10_001, "max_length": 10_000, "exact": True}
    assert "10,001 characters; the limit is 10,000" in error.message


def test_empty_and_blank_files_are_empty_document() -> None:
    assert refusal(b"", "e.txt").code == "empty_document"
    assert refusal(b" \r\n\t\n", "e.txt").code == "empty_document"


def test_a_file_over_the_size_limit_is_file_too_large() -> None:
    error = refusal(b"a" * 2049, "big.txt", max_bytes=2048)
    assert (error.status, error.code) == (413, "file_too_large")
    assert error.details == {"size": 2049, "max_size": 2048}


# ------------------------------------------------------------------ normalisation


def test_normalisation_makes_offsets_stable() -> None:
    raw = "Title\r\n\r\n\r\n\r\nCafe\u0301 costs\u00a0 \r\nline\x00 two\x07\fnext \u2028end\ufeff"
    text, removed = normalise(raw)
    assert text == "Title\n\nCafé costs\nline two\n\nnext\nend"
    assert removed == 3  # NUL, BEL, BOM


def test_control_characters_removed_from_a_file_are_a_warning() -> None:
    memo = f"{BODY}\n\n{CLOSING}"
    result = extract(memo.replace("July.", "July.\x00").replace("risk", "\x1brisk").encode())
    assert result.text == memo  # type: ignore[attr-defined]
    [warning] = result.warnings  # type: ignore[attr-defined]
    assert (warning.code, warning.details) == ("control_characters_removed", {"count": 2})


def test_file_names_lose_their_folders_and_control_characters() -> None:
    assert clean_filename("C:\\fakepath\\memo.docx") == "memo.docx"
    assert clean_filename("../../etc/passwd") == "passwd"
    assert clean_filename("a\x00b\n.pdf") == "ab.pdf"
    assert clean_filename("") == "upload"
    assert len(clean_filename("x" * 500 + ".pdf")) == 200


# ------------------------------------------------------------------ isolation


def test_the_child_process_returns_what_the_parser_returns_in_process() -> None:
    data = docx_bytes(bullets=["One"], table=[["a", "b"]])
    here = extract_bytes(data, "m.docx", isolated=False)
    there = extract_bytes(data, "m.docx")
    assert there == here


def test_a_refusal_in_the_child_process_is_raised_unchanged() -> None:
    with pytest.raises(e.PdfEncrypted) as caught:
        extract_bytes(encrypted_pdf(), "locked.pdf")
    assert caught.value.field == "file"


def test_a_pathological_pdf_is_stopped_at_the_time_budget() -> None:
    data = slow_pdf()
    assert len(data) < 20_000
    started = time.monotonic()
    with pytest.raises(e.ExtractionTimeout) as caught:
        extract_bytes(data, "slow.pdf", Limits(timeout=1.0))
    assert time.monotonic() - started < 6  # killed, not waited for (start-up included)
    assert (caught.value.status, caught.value.code) == (422, "extraction_timeout")
    assert caught.value.details == {"timeout_seconds": 1.0}


def test_a_child_that_dies_without_answering_is_document_unreadable() -> None:
    with pytest.raises(e.ExtractionFailed) as caught:
        isolation.run("no-such-kind", b"%PDF-", 100, 30)
    assert caught.value.code == "document_unreadable"


def test_extract_file_reads_a_document_from_disk(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "memo.pdf"
    path.write_bytes(text_pdf())
    result = extract_file(path)
    assert (result.filename, result.detected_type) == ("memo.pdf", "pdf")
    assert result.text.startswith(HEADING)
    big = Path(str(tmp_path)) / "big.txt"
    big.write_bytes(b"a" * 5000)
    with pytest.raises(e.FileTooLarge):
        extract_file(big, Limits(max_bytes=4096))


# ------------------------------------------------------------------ multipart


def test_a_multipart_file_part_keeps_its_bytes_and_utf8_name() -> None:
    payload = bytes(range(256)) * 8 + b"\r\n--not-the-boundary\r\n\r" + png_bytes()
    boundary = "----formBoundary7MA4YWxk"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            'filename="Memorándum año.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
        ).encode()
        + payload
        + f"\r\n--{boundary}--\r\n".encode()
    )
    part = file_part(f"multipart/form-data; boundary={boundary}", body, "file")
    assert part.data == payload
    assert part.filename == "Memorándum año.pdf"
    with pytest.raises(MemoError) as caught:
        file_part(f"multipart/form-data; boundary={boundary}", body, "other")
    assert caught.value.code == "bad_upload"
