"""Text of a Word (.docx) document with python-docx, in reading order.

python-docx reads every part of the package with `ZipFile.read`, unbounded,
so the archive is first read here through bounded streams (the zip-bomb
guard, as in memoai.batches.archive): at most MAX_ENTRIES entries, at most
MAX_UNCOMPRESSED bytes in all, and no entry expanding more than MAX_RATIO
times its compressed size once it is past RATIO_FLOOR. Only then does
python-docx open it; it decompresses the same entries to the same sizes.

The text is what Word shows with every tracked change accepted: paragraphs
(headings included) separated by a blank line, list items on their own lines
with their bullet or number, table rows as tab-separated lines. Text boxes,
headers, footers, footnotes and comments are not part of the memo's body and
are left out (with a warning for text boxes, which often hold real content).
"""

from __future__ import annotations

import io
import zipfile
import zlib
from typing import Any

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml.ns import qn

from memoai.documents.errors import DocxInvalid, DocxTooLarge
from memoai.documents.schemas import ExtractionWarning

MAX_ENTRIES = 500
MAX_UNCOMPRESSED = 32 * 1024 * 1024
MAX_RATIO = 100
RATIO_FLOOR = 1024 * 1024  # small parts may compress very well (styles, settings)
CHUNK = 64 * 1024

_P, _TBL, _SDT, _SDT_CONTENT = qn("w:p"), qn("w:tbl"), qn("w:sdt"), qn("w:sdtContent")
_TR, _TC, _CUSTOM_XML = qn("w:tr"), qn("w:tc"), qn("w:customXml")
_T, _TAB, _BR, _CR, _NB_HYPHEN = (
    qn("w:t"),
    qn("w:tab"),
    qn("w:br"),
    qn("w:cr"),
    qn("w:noBreakHyphen"),
)
_BR_TYPE = qn("w:type")
# Text under these is not part of the accepted text of this paragraph: deleted
# or moved-away runs, tab stops and other properties, nested text boxes.
_SKIP_UNDER = frozenset(
    qn(tag) for tag in ("w:del", "w:moveFrom", "w:pPr", "w:rPr", "w:txbxContent")
)
_VAL, _NUM_ID, _ILVL = qn("w:val"), qn("w:numId"), qn("w:ilvl")


def _too_large(reason: str, message: str, **details: int) -> DocxTooLarge:
    return DocxTooLarge(message, details={"reason": reason, **details})


def check_archive(data: bytes) -> None:
    """Read every entry through a bounded stream; refuse a zip bomb before anyone else opens it."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise DocxInvalid("The Word document is damaged (not a readable zip).") from exc
    if len(infos) > MAX_ENTRIES:
        raise _too_large(
            "entries",
            f"The Word document holds {len(infos):,} parts; at most {MAX_ENTRIES:,} are read.",
            entries=len(infos),
            limit=MAX_ENTRIES,
        )
    limit_mb = MAX_UNCOMPRESSED // (1024 * 1024)
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise DocxInvalid("The Word document's zip is encrypted; Word never writes that.")
        read = 0
        try:
            with archive.open(info) as stream:
                while chunk := stream.read(CHUNK):
                    read += len(chunk)
                    total += len(chunk)
                    if total > MAX_UNCOMPRESSED:
                        raise _too_large(
                            "uncompressed_size",
                            f"The Word document expands to more than {limit_mb} MB.",
                            limit=MAX_UNCOMPRESSED,
                        )
                    if read > RATIO_FLOOR and read > MAX_RATIO * max(info.compress_size, 1):
                        raise _too_large(
                            "ratio",
                            f"A part of the Word document expands more than {MAX_RATIO} times "
                            "its size: it looks like a zip bomb.",
                            limit=MAX_RATIO,
                        )
        except DocxTooLarge:
            raise
        except (
            zipfile.BadZipFile,
            NotImplementedError,
            ValueError,
            OSError,
            EOFError,
            zlib.error,
        ) as exc:
            raise DocxInvalid(
                f"The Word document is damaged (its part {info.filename[:100]!r} cannot be read)."
            ) from exc


class _Walker:
    """Blocks of text from the document body, with the numbering state of its lists."""

    def __init__(self, document: Any) -> None:
        self.document = document
        self.styles: dict[str | None, tuple[str, tuple[int, int] | None]] = {}
        self.counters: dict[int, list[int]] = {}
        self.formats: dict[tuple[int, int], tuple[str, str]] = {}
        self.text_boxes = False
        self.images = False
        self.tracked = False
        try:
            self.numbering = document.part.numbering_part.element
        except (KeyError, NotImplementedError, AttributeError):
            self.numbering = None

    # -------------------------------------------------------------- styles and lists

    def _style(self, style_id: str | None) -> tuple[str, tuple[int, int] | None]:
        """The style's name and the numbering (numId, ilvl) it applies, if any."""
        if style_id not in self.styles:
            name, numbering = "", None
            style = self.document.part.get_style(style_id, WD_STYLE_TYPE.PARAGRAPH)
            if style is not None:
                name = style.name or ""
                seen = 0
                while style is not None and numbering is None and seen < 20:
                    num_pr = style.element.find(f"{qn('w:pPr')}/{qn('w:numPr')}")
                    if num_pr is not None:
                        numbering = self._num_pr(num_pr)
                    style, seen = style.base_style, seen + 1
            self.styles[style_id] = (name, numbering)
        return self.styles[style_id]

    @staticmethod
    def _num_pr(num_pr: Any) -> tuple[int, int] | None:
        num_id = num_pr.find(_NUM_ID)
        level = num_pr.find(_ILVL)
        try:
            num = int(num_id.get(_VAL)) if num_id is not None else None
            ilvl = int(level.get(_VAL)) if level is not None else 0
        except (TypeError, ValueError):
            return None
        return None if num is None else (num, max(0, min(ilvl, 8)))

    def _format(self, num_id: int, ilvl: int) -> tuple[str, str]:
        """(numFmt, lvlText) of one list level, from numbering.xml."""
        key = (num_id, ilvl)
        if key not in self.formats:
            fmt, text = "bullet", ""
            if self.numbering is not None:
                nums = self.numbering.xpath(f'w:num[@w:numId="{num_id}"]/w:abstractNumId/@w:val')
                if nums:
                    levels = self.numbering.xpath(
                        f'w:abstractNum[@w:abstractNumId="{nums[0]}"]/w:lvl[@w:ilvl="{ilvl}"]'
                    )
                    if levels:
                        num_fmt = levels[0].find(qn("w:numFmt"))
                        lvl_text = levels[0].find(qn("w:lvlText"))
                        fmt = num_fmt.get(_VAL, "decimal") if num_fmt is not None else "decimal"
                        text = lvl_text.get(_VAL, "") if lvl_text is not None else ""
            self.formats[key] = (str(fmt), str(text))
        return self.formats[key]

    def _marker(self, num_id: int, ilvl: int) -> str:
        counters = self.counters.setdefault(num_id, [0] * 9)
        counters[ilvl] += 1
        for deeper in range(ilvl + 1, 9):
            counters[deeper] = 0  # a new item restarts the levels below it
        fmt, pattern = self._format(num_id, ilvl)
        indent = "  " * ilvl
        if fmt == "bullet" or not pattern:
            return f"{indent}• "
        if fmt == "none":
            return indent
        marker = pattern
        for level in range(ilvl, -1, -1):
            level_fmt = fmt if level == ilvl else self._format(num_id, level)[0]
            marker = marker.replace(f"%{level + 1}", _number(max(counters[level], 1), level_fmt))
        return f"{indent}{marker} "

    # -------------------------------------------------------------- text

    def _paragraph_text(self, p: Any) -> str:
        parts: list[str] = []
        for element in p.iter(_T, _TAB, _BR, _CR, _NB_HYPHEN):
            parent = element.getparent()
            skipped = False
            while parent is not None and parent is not p:
                if parent.tag in _SKIP_UNDER:
                    skipped = True
                    break
                parent = parent.getparent()
            if skipped:
                continue
            tag = element.tag
            if tag == _T:
                parts.append(element.text or "")
            elif tag == _TAB:
                parts.append("\t")
            elif tag == _BR:
                # Page and column breaks are layout, not text (as python-docx reads them).
                parts.append("\n" if element.get(_BR_TYPE) in (None, "textWrapping") else "")
            elif tag == _CR:
                parts.append("\n")
            else:
                parts.append("-")
        return "".join(parts)

    def paragraph(self, p: Any) -> tuple[str, bool]:
        """The paragraph's line, and whether it is a list item."""
        if p.find(f".//{qn('w:txbxContent')}") is not None:
            self.text_boxes = True  # a text box is a drawing too: not counted as a picture
        elif (
            p.find(f".//{qn('w:drawing')}") is not None or p.find(f".//{qn('w:pict')}") is not None
        ):
            self.images = True
        if p.find(f".//{qn('w:ins')}") is not None or p.find(f".//{qn('w:del')}") is not None:
            self.tracked = True
        text = self._paragraph_text(p)
        p_pr = p.find(qn("w:pPr"))
        style_id = None
        numbering = None
        if p_pr is not None:
            style = p_pr.find(qn("w:pStyle"))
            style_id = style.get(_VAL) if style is not None else None
            num_pr = p_pr.find(qn("w:numPr"))
            if num_pr is not None:
                numbering = self._num_pr(num_pr)
                if numbering is None:
                    numbering = (0, 0)  # numPr without a numId: no numbering
        _name, style_numbering = self._style(style_id)
        if numbering is None:
            numbering = style_numbering
        if numbering is None or numbering[0] == 0 or not text.strip():
            return text, False
        return self._marker(*numbering) + text.strip(), True

    def cell_text(self, tc: Any) -> str:
        lines = [line for line, _ in self.blocks(tc)]
        return " ".join(" ".join(line.split()) for line in lines if line.strip())

    def table(self, tbl: Any) -> str:
        rows = []
        for tr in tbl.iterchildren(_TR):
            cells = []
            for tc in tr.iterchildren(_TC):
                merge = tc.find(f"{qn('w:tcPr')}/{qn('w:vMerge')}")
                continued = merge is not None and merge.get(_VAL) in (None, "continue")
                # A vertically merged cell shows its text once, in its first row.
                cells.append("" if continued else self.cell_text(tc))
            if any(cells):
                rows.append("\t".join(cells))
        return "\n".join(rows)

    def blocks(self, container: Any) -> list[tuple[str, bool]]:
        """(text, is_list_item) for each paragraph and table, in reading order."""
        out: list[tuple[str, bool]] = []
        for child in container.iterchildren():
            tag = child.tag
            if tag == _P:
                out.append(self.paragraph(child))
            elif tag == _TBL:
                out.append((self.table(child), False))
            elif tag == _SDT:
                content = child.find(_SDT_CONTENT)
                if content is not None:
                    out.extend(self.blocks(content))
            elif tag == _CUSTOM_XML:
                out.extend(self.blocks(child))
        return out


def _number(value: int, fmt: str) -> str:
    if fmt in ("lowerLetter", "upperLetter"):
        letters = ""
        while value > 0:
            value, rest = divmod(value - 1, 26)
            letters = chr(ord("a") + rest) + letters
        return letters.upper() if fmt == "upperLetter" else letters
    if fmt in ("lowerRoman", "upperRoman"):
        roman = _roman(value)
        return roman if fmt == "upperRoman" else roman.lower()
    return str(value)


def _roman(value: int) -> str:
    out = ""
    for number, letters in (
        (1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
        (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"),
    ):  # fmt: skip
        while value >= number:
            out += letters
            value -= number
    return out


def extract_docx(data: bytes, _max_chars: int) -> tuple[str, list[ExtractionWarning]]:
    check_archive(data)
    try:
        document = Document(io.BytesIO(data))
        body = document.element.body
    except MemoryError:
        raise  # the child reports it as such
    except Exception as exc:  # a malformed package can raise anything from the parser
        raise DocxInvalid(
            "The file is not a Word document we can read (damaged, or a macro-enabled file or "
            "template: save it as a .docx document)."
        ) from exc
    walker = _Walker(document)
    try:
        blocks = walker.blocks(body)
    except MemoryError:
        raise  # the child reports it as such
    except Exception as exc:  # unexpected structures deep in the XML
        raise DocxInvalid("The Word document is damaged and its text cannot be read.") from exc
    # Consecutive list items are lines of one block; everything else is its own paragraph.
    text = ""
    previous_item = False
    for block, item in blocks:
        if not block.strip():
            previous_item = False
            continue
        if text:
            text += "\n" if item and previous_item else "\n\n"
        text += block
        previous_item = item
    warnings = []
    if walker.tracked:
        warnings.append(
            ExtractionWarning(
                code="docx_tracked_changes",
                message="The document has tracked changes; the text is shown with all of "
                "them accepted.",
            )
        )
    if walker.text_boxes:
        warnings.append(
            ExtractionWarning(
                code="docx_text_boxes_skipped",
                message="The document has text boxes; their text is not included.",
            )
        )
    if walker.images:
        warnings.append(
            ExtractionWarning(
                code="images_ignored",
                message="The document has pictures or charts; only its text is evaluated.",
            )
        )
    return text, warnings
