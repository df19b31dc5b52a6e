"""Real documents built in the test: Word files with python-docx, PDFs with ReportLab
(and pypdf for encryption), zip bombs with zipfile, images with Pillow."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence

from docx import Document
from PIL import Image, ImageDraw
from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

HEADING = "Request to approve remote monitoring"
HEADER_LINES = ("TO: Executive Team", "FROM: Ana Ruiz", "SUBJECT: Remote monitoring")
BODY = (
    "We request $1.2M to extend remote monitoring to 600 heart-failure patients by July. "
    "Our pilot at the Clínica Señora de Fátima cut readmissions by 38% in six months, and "
    "payback is under eleven months."
)
CLOSING = "The main risk is adoption by older patients; nurses will train each one at home."


def docx_bytes(
    *,
    heading: str = HEADING,
    paragraphs: Sequence[str] = (BODY, CLOSING),
    bullets: Sequence[str] = (),
    numbered: Sequence[str] = (),
    table: Sequence[Sequence[str]] = (),
) -> bytes:
    document = Document()
    document.add_heading(heading, level=1)
    for line in HEADER_LINES:
        document.add_paragraph(line)
    for text in paragraphs:
        document.add_paragraph(text)
    for text in bullets:
        document.add_paragraph(text, style="List Bullet")
    for text in numbered:
        document.add_paragraph(text, style="List Number")
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def text_pdf(paragraphs: Sequence[str] = (BODY, CLOSING), *, pages: int = 1) -> bytes:
    """A PDF with a text layer: a heading, a TO/FROM header and wrapped paragraphs."""
    styles = getSampleStyleSheet()
    out = io.BytesIO()
    story: list[object] = []
    for page in range(pages):
        if page:
            story.append(PageBreak())
        story.append(Paragraph(HEADING, styles["Heading1"]))
        story.append(Paragraph("<br/>".join(HEADER_LINES), styles["BodyText"]))
        story += [Paragraph(text, styles["BodyText"]) for text in paragraphs]
    SimpleDocTemplate(out, pagesize=A4).build(story)  # type: ignore[arg-type]
    return out.getvalue()


def png_bytes(text: str = "scanned memo") -> bytes:
    image = Image.new("RGB", (600, 200), "white")
    ImageDraw.Draw(image).text((20, 80), text, fill="black")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def scanned_pdf(pages: int = 2) -> bytes:
    """Pages that are only pictures of text: no text layer, as a scanner makes them."""
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    for _ in range(pages):
        pdf.drawImage(ImageReader(io.BytesIO(png_bytes())), 50, 500, width=500, height=166)
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def mixed_pdf() -> bytes:
    """Page 1 has text, page 2 is a scan."""
    writer = PdfWriter()
    for source in (text_pdf(), scanned_pdf(pages=1)):
        writer.append(PdfReader(io.BytesIO(source)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def encrypted_pdf(user_password: str = "secret", owner_password: str | None = None) -> bytes:  # noqa: S107 - a test fixture's password
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf())))
    # RC4: pypdf writes and reads it without the optional cryptography package.
    writer.encrypt(user_password, owner_password, algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def with_extra_entries(docx: bytes, entries: dict[str, bytes]) -> bytes:
    """The same Word document with more parts added (a zip bomb hides in one)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(docx)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            target.writestr(info, source.read(info))
        for name, content in entries.items():
            target.writestr(name, content, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return out.getvalue()


def plain_zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return out.getvalue()


def slow_pdf(operators: int = 100_000) -> bytes:
    """A few kilobytes that keep pypdf busy for seconds: one page of `operators` text moves."""
    from pypdf.generic import DecodedStreamObject, NameObject

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf())))
    stream = DecodedStreamObject()
    stream.set_data(b"BT /F1 1 Tf " + b"1 0 Td (a) Tj " * operators + b"ET")
    page = writer.pages[0]
    page[NameObject("/Contents")] = writer._add_object(stream.flate_encode())
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
