"""The PDF report of an evaluation, built with ReportLab.

Contents: overall evaluation, rubric table with justifications, strengths and
opportunities, inline comments with their passages and insight questions, the
change since the previous version, the progress chart, and the memo itself.
All user and model text is escaped before it reaches ReportLab's markup.

A submission whose coach released the review shows the coach's final values,
labelled "Reviewed by your coach", with the AI's score beside each one the
coach changed, the coach's reason as its justification, and the coach's own
comments marked as theirs.

One module on purpose: the report's sections share one style sheet and
flow; the progress chart is drawn here because only the report uses it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from memoai.coaching.progress import ProgressPublic
from memoai.coaching.revisions import ComparisonPublic
from memoai.cohorts.feedback import RELEASED
from memoai.cohorts.schemas import EvaluationWithReview, WriterReview
from memoai.evaluation.schemas import EvaluationPublic

INK = colors.HexColor("#1f2a37")
MUTED = colors.HexColor("#5b6778")
ACCENT = colors.HexColor("#2f5d8a")
LIGHT = colors.HexColor("#eef3f8")
RULE = colors.HexColor("#d5dde6")
UP = colors.HexColor("#1c7c54")
DOWN = colors.HexColor("#b42318")

_FONT_DIRS = [Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu")]


@dataclass(frozen=True)
class Fonts:
    regular: str
    bold: str
    italic: str
    unicode: bool


_fonts: Fonts | None = None


def fonts() -> Fonts:
    """DejaVu when installed (full Unicode: accents, €, emoji fall back to boxes
    at worst), else the PDF core fonts with text reduced to Latin-1."""
    global _fonts
    if _fonts is not None:
        return _fonts
    for base in _FONT_DIRS:
        files = {
            "MemoSans": base / "DejaVuSans.ttf",
            "MemoSans-Bold": base / "DejaVuSans-Bold.ttf",
            "MemoSans-Oblique": base / "DejaVuSans-Oblique.ttf",
        }
        if all(p.exists() for p in files.values()):
            for name, path in files.items():
                pdfmetrics.registerFont(TTFont(name, str(path)))
            _fonts = Fonts("MemoSans", "MemoSans-Bold", "MemoSans-Oblique", True)
            return _fonts
    _fonts = Fonts("Helvetica", "Helvetica-Bold", "Helvetica-Oblique", False)
    return _fonts


def _t(text: str | None) -> str:
    """Escape for ReportLab's paragraph markup (and fit the font's repertoire)."""
    value = text or ""
    if not fonts().unicode:
        value = value.encode("latin-1", "replace").decode("latin-1")
    return escape(value).replace("\r\n", "\n")


def _styles() -> dict[str, ParagraphStyle]:
    f = fonts()
    base = getSampleStyleSheet()["Normal"]
    body = ParagraphStyle(
        "body", parent=base, fontName=f.regular, fontSize=9.5, leading=13, textColor=INK
    )
    return {
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=8.5, leading=11, textColor=MUTED),
        "title": ParagraphStyle(
            "title", parent=body, fontName=f.bold, fontSize=18, leading=22, spaceAfter=4
        ),
        "h2": ParagraphStyle(
            "h2",
            parent=body,
            fontName=f.bold,
            fontSize=12.5,
            leading=16,
            textColor=ACCENT,
            spaceBefore=10,
            spaceAfter=5,
        ),
        "quote": ParagraphStyle(
            "quote",
            parent=body,
            fontName=f.italic,
            leftIndent=8,
            borderPadding=5,
            backColor=LIGHT,
            textColor=INK,
        ),
        "bullet": ParagraphStyle("bullet", parent=body, leftIndent=12, bulletIndent=2),
        "score": ParagraphStyle(
            "score",
            parent=body,
            fontName=f.bold,
            fontSize=30,
            leading=34,
            alignment=TA_CENTER,
            textColor=ACCENT,
        ),
        "memo": ParagraphStyle("memo", parent=body, fontSize=9, leading=12.5),
        "cell": ParagraphStyle("cell", parent=body, fontSize=8.8, leading=11.5),
        "cellbold": ParagraphStyle(
            "cellbold", parent=body, fontName=f.bold, fontSize=8.8, leading=11.5
        ),
        "coach": ParagraphStyle("coach", parent=body, textColor=UP),
        "coachcell": ParagraphStyle(
            "coachcell", parent=body, fontSize=7.5, leading=9.5, textColor=UP
        ),
    }


class _NumberedCanvas(Canvas):
    """Two-pass page numbering: "Page n of N" needs the total."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._saved: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._saved.append(dict(self.__dict__))
        self._startPage()  # type: ignore[attr-defined]

    def save(self) -> None:
        total = len(self._saved)
        for state in self._saved:
            self.__dict__.update(state)
            self._footer(total)
            super().showPage()
        super().save()

    def _footer(self, total: int) -> None:
        self.setFont(fonts().regular, 8)
        self.setFillColor(MUTED)
        width, _ = A4
        self.drawString(18 * mm, 10 * mm, "Memo AI Coach - evaluation report")
        page = self.getPageNumber()
        self.drawRightString(width - 18 * mm, 10 * mm, f"Page {page} of {total}")


def build_pdf(
    evaluation: EvaluationPublic,
    comparison: ComparisonPublic | None = None,
    progress: ProgressPublic | None = None,
    generated_at: datetime | None = None,
) -> bytes:
    s = _styles()
    story: list[Any] = []
    title = _first_line(evaluation.text_content)
    story.append(Paragraph("Memo evaluation", s["title"]))
    meta = [
        f"Memo: {_t(title)}",
        f"Version {evaluation.version_number}",
        f"Evaluated {evaluation.completed_at:%Y-%m-%d %H:%M} UTC"
        if evaluation.completed_at
        else "",
        f"By {_t(evaluation.llm_provider or '')} ({_t(evaluation.llm_model or '')})",
    ]
    story.append(Paragraph(" &middot; ".join(m for m in meta if m), s["small"]))
    review = _released_review(evaluation)
    if review is not None:
        story.append(Spacer(1, 4))
        story.append(Paragraph(_reviewed_line(review), s["coach"]))
    if evaluation.notice:
        story.append(Spacer(1, 4))
        story.append(Paragraph(_t(evaluation.notice), s["small"]))
    story.append(Spacer(1, 8))

    scale_max = (evaluation.rubric or {}).get("scale", {}).get("max", 5)
    overall = evaluation.overall_score
    score_cell = Paragraph(f"{overall:.2f}" if overall is not None else "-", s["score"])
    summary = Table(
        [
            [
                score_cell,
                Paragraph(
                    f"Overall score out of {scale_max}, the rubric-weighted mean "
                    "of the criterion scores below."
                    + (
                        f" {RELEASED} The AI's overall score was {review.ai_overall_score:.2f}."
                        if review is not None
                        and review.ai_overall_score is not None
                        and review.ai_overall_score != overall
                        else ""
                    ),
                    s["body"],
                ),
            ]
        ],
        colWidths=[40 * mm, None],
    )
    summary.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), LIGHT),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("BOX", (0, 0), (-1, -1), 0.5, RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 8),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 8),
            ]
        )
    )
    story.append(summary)

    story.append(Paragraph("Scores by criterion", s["h2"]))
    rows: list[list[Any]] = [
        [Paragraph(h, s["cellbold"]) for h in ("Criterion", "Weight", "Score", "Justification")]
    ]
    for name, item in evaluation.rubric_scores.items():
        coach = review.rubric_scores.get(name) if review is not None else None
        score: list[Any] = [Paragraph(f"{item.score} / {scale_max}", s["cellbold"])]
        justification = _t(item.justification)
        if coach is not None and coach.coach_override:
            score.append(Paragraph(f"{RELEASED_SHORT} (AI: {coach.ai_score})", s["coachcell"]))
            justification = f"<b>Your coach:</b> {justification}"
        rows.append(
            [
                Paragraph(_t(name), s["cellbold"]),
                Paragraph(f"{item.weight:g}%", s["cell"]),
                score,
                Paragraph(justification, s["cell"]),
            ]
        )
    table = Table(rows, colWidths=[40 * mm, 16 * mm, 26 * mm, None], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), LIGHT),
                ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
            ]
        )
    )
    story.append(table)

    for heading, items in (
        ("Strengths", evaluation.strengths),
        ("Opportunities", evaluation.opportunities),
    ):
        story.append(Paragraph(heading, s["h2"]))
        for point in items:
            story.append(Paragraph(_t(point), s["bullet"], bulletText="•"))

    if comparison is not None:
        story += _comparison(comparison, s)

    if evaluation.segment_feedback:
        story.append(Paragraph("Comments on the text", s["h2"]))
        sources = [c.source for c in review.comments] if review is not None else []
        for number, seg in enumerate(evaluation.segment_feedback, 1):
            by_coach = number <= len(sources) and sources[number - 1] == "coach"
            block = [
                Paragraph(f"{number}. &ldquo;{_t(seg.segment)}&rdquo;", s["quote"]),
                Spacer(1, 3),
            ]
            if by_coach:
                block.append(Paragraph("Comment from your coach", s["coach"]))
            block.append(Paragraph(_t(seg.comment), s["body"]))
            block += [Paragraph(_t(q), s["bullet"], bulletText="?") for q in seg.questions]
            block.append(Spacer(1, 6))
            story.append(KeepTogether(block))

    if progress is not None and progress.evaluations:
        story.append(Paragraph("Progress over time", s["h2"]))
        if len(progress.overall_trends) >= 2:
            story.append(_chart(progress, scale_max))
        story.append(Paragraph(_t(progress.text_summary), s["small"]))

    story.append(Paragraph("The memo", s["h2"]))
    for paragraph in evaluation.text_content.replace("\r\n", "\n").split("\n\n"):
        if paragraph.strip():
            story.append(Paragraph(_t(paragraph).replace("\n", "<br/>"), s["memo"]))
            story.append(Spacer(1, 4))

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=18 * mm,
        title=f"Memo evaluation - {title[:60]}",
        author="Memo AI Coach",
        subject="Memo evaluation report",
    )
    doc.build(story, canvasmaker=_NumberedCanvas)
    return buffer.getvalue()


RELEASED_SHORT = RELEASED.rstrip(".")  # "Reviewed by your coach"


def _released_review(evaluation: EvaluationPublic) -> WriterReview | None:
    """The coach's released review, when the report shows one."""
    review = evaluation.review if isinstance(evaluation, EvaluationWithReview) else None
    return review if review is not None and review.status == "released" else None


def _reviewed_line(review: WriterReview) -> str:
    when = f" on {review.released_at:%Y-%m-%d}" if review.released_at else ""
    changed = sum(1 for v in review.rubric_scores.values() if v.coach_override)
    detail = (
        f"; they changed {changed} of the AI's scores (the AI's score is shown beside each)"
        if changed
        else "; they kept the AI's scores"
    )
    return f"<b>{RELEASED_SHORT}</b>{when}{detail}. The scores and comments below are final."


def _comparison(comparison: ComparisonPublic, s: dict[str, ParagraphStyle]) -> list[Any]:
    out: list[Any] = [
        Paragraph(f"Changes since version {comparison.previous_version_number}", s["h2"])
    ]
    delta = comparison.overall.get("delta")
    if delta is not None:
        sign = "+" if delta > 0 else ""
        out.append(
            Paragraph(
                f"Overall score {comparison.overall['previous']:.2f} &rarr; "
                f"{comparison.overall['current']:.2f} ({sign}{delta:.2f}); "
                f"{comparison.words_added} words added, {comparison.words_removed} removed; "
                f"{comparison.questions_addressed} of {len(comparison.questions)} earlier "
                "questions addressed.",
                s["body"],
            )
        )
    rows: list[list[Any]] = [
        [Paragraph(h, s["cellbold"]) for h in ("Criterion", "Before", "After", "Change")]
    ]
    arrows = {"up": "&uarr;", "down": "&darr;", "same": "=", "new": "new", "removed": "removed"}
    for name, d in comparison.criteria.items():
        color = (
            "#1c7c54" if d.direction == "up" else "#b42318" if d.direction == "down" else "#5b6778"
        )
        change = f"{arrows[d.direction]} {d.delta:+d}" if d.delta else arrows[d.direction]
        rows.append(
            [
                Paragraph(_t(name), s["cell"]),
                Paragraph("-" if d.previous is None else str(d.previous), s["cell"]),
                Paragraph("-" if d.current is None else str(d.current), s["cell"]),
                Paragraph(f'<font color="{color}">{change}</font>', s["cellbold"]),
            ]
        )
    table = Table(rows, colWidths=[70 * mm, 22 * mm, 22 * mm, None])
    table.setStyle(
        TableStyle(
            [("BACKGROUND", (0, 0), (-1, 0), LIGHT), ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE)]
        )
    )
    out += [Spacer(1, 4), table]
    return out


def _chart(progress: ProgressPublic, scale_max: int) -> Drawing:
    drawing = Drawing(170 * mm, 55 * mm)
    plot = LinePlot()
    plot.x, plot.y = round(12 * mm), round(8 * mm)
    plot.width, plot.height = round(150 * mm), round(42 * mm)
    points = [(i + 1, t.overall_score) for i, t in enumerate(progress.overall_trends)]
    plot.data = [points]
    plot.lines[0].strokeColor = ACCENT
    plot.lines[0].strokeWidth = 1.5
    plot.lines[0].symbol = makeMarker("FilledCircle", size=4)  # type: ignore[no-untyped-call]
    plot.xValueAxis.valueMin = 1
    plot.xValueAxis.valueMax = max(2, len(points))
    plot.xValueAxis.valueStep = 1 if len(points) <= 12 else max(1, len(points) // 10)
    plot.yValueAxis.valueMin = progress.scale.get("min", 1)
    plot.yValueAxis.valueMax = scale_max
    plot.yValueAxis.valueStep = 1
    for axis in (plot.xValueAxis, plot.yValueAxis):
        axis.labels.fontName = fonts().regular
        axis.labels.fontSize = 7
    drawing.add(plot)
    drawing.add(
        String(
            12 * mm,
            52 * mm,
            "Overall score per evaluation",
            fontName=fonts().regular,
            fontSize=8,
            fillColor=MUTED,
        )
    )
    return drawing


def _first_line(text: str) -> str:
    from memoai.evaluation.text import guess_title

    return guess_title(text) or "Untitled memo"
