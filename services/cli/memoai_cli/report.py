"""`memoai evaluate`'s terminal output: one evaluation as text, and the summary of several.

Pure functions of the evaluation JSON (the API's `data.evaluation` shape), so
the in-process and the remote modes print exactly the same thing.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

OFFLINE_LABEL = "offline evaluator"


def number(value: float | None) -> str:
    """4.15, 4, 3.5: two decimals at most, no trailing zeros."""
    if value is None:
        return "-"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def provider_label(evaluation: Mapping[str, Any]) -> str:
    if evaluation.get("offline") or evaluation.get("llm_provider") == "offline":
        return OFFLINE_LABEL
    provider = evaluation.get("llm_provider")
    if not provider:
        return "not recorded"  # a failed evaluation keeps no provider
    model = evaluation.get("llm_model")
    return f"{provider} ({model})" if model else str(provider)


def scale_max(evaluation: Mapping[str, Any]) -> int | float:
    rubric = evaluation.get("rubric") or {}
    return (rubric.get("scale") or {}).get("max", 5)  # type: ignore[no-any-return]


def score_rows(evaluation: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    """(criterion, score / scale, share of the total weight, justification) in rubric order."""
    scores: Mapping[str, Mapping[str, Any]] = evaluation.get("rubric_scores") or {}
    criteria = [c["name"] for c in (evaluation.get("rubric") or {}).get("criteria", [])]
    order = [name for name in criteria if name in scores] + [n for n in scores if n not in criteria]
    total = sum(float(scores[n].get("weight") or 0) for n in order) or 1.0
    top = number(scale_max(evaluation))
    return [
        (
            name,
            f"{number(scores[name].get('score'))} / {top}",
            f"{number(100 * float(scores[name].get('weight') or 0) / total)}%",
            str(scores[name].get("justification") or ""),
        )
        for name in order
    ]


def table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], width: int, indent: str = "  "
) -> list[str]:
    """Columns sized to their content; the last one wraps to fit `width`."""
    rows = [list(r) for r in rows]
    fixed = [
        max(len(headers[i]), *(len(r[i]) for r in rows)) if rows else len(headers[i])
        for i in range(len(headers) - 1)
    ]
    used = len(indent) + sum(fixed) + 2 * len(fixed)
    last = max(20, width - used)
    lines = []
    for row in [list(headers), *rows]:
        head = "".join(cell.ljust(fixed[i] + 2) for i, cell in enumerate(row[:-1]))
        # Ids and URLs stay whole: a split id cannot be copied.
        wrapped = textwrap.wrap(row[-1], last, break_long_words=False, break_on_hyphens=False)
        wrapped = wrapped or [""]
        lines.append((indent + head + wrapped[0]).rstrip())
        pad = " " * (len(indent) + len(head))
        lines.extend((pad + more).rstrip() for more in wrapped[1:])
    return lines


def _bullets(items: Sequence[str], width: int) -> list[str]:
    if not items:
        return ["  (none)"]
    lines: list[str] = []
    for item in items:
        lines += textwrap.wrap(item, width, initial_indent="  - ", subsequent_indent="    ")
    return lines


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, max(0, offset)) + 1


def comment_lines(evaluation: Mapping[str, Any], width: int) -> list[str]:
    """Each comment under the passage it quotes (whitespace folded for the terminal)."""
    text = str(evaluation.get("text_content") or "")
    lines: list[str] = []
    for n, item in enumerate(evaluation.get("segment_feedback") or [], start=1):
        passage = " ".join(str(item["segment"]).split())
        lines += textwrap.wrap(
            f'line {line_of(text, int(item["start"]))}: "{passage}"',
            width,
            initial_indent=f"  {n}. ",
            subsequent_indent="     ",
        )
        lines += textwrap.wrap(
            str(item.get("comment") or ""), width, initial_indent="     ", subsequent_indent="     "
        )
        for question in item.get("questions") or []:
            lines += textwrap.wrap(
                str(question), width, initial_indent="     ? ", subsequent_indent="       "
            )
        lines.append("")
    return lines or ["  (none)", ""]


def render(evaluation: Mapping[str, Any], source: str, width: int = 100) -> str:
    """One evaluation as the terminal shows it."""
    width = max(60, width)
    rubric = evaluation.get("rubric") or {}
    about = [f"Provider: {provider_label(evaluation)}"]
    if evaluation.get("language"):
        about.append(f"language {evaluation['language']}")
    if evaluation.get("processing_time") is not None:
        about.append(f"{number(evaluation['processing_time'])} s")
    head = [
        f"== {source}",
        f"Evaluation {evaluation['id']}: {evaluation['status']}",
        " - ".join(about),
    ]
    if evaluation.get("notice"):
        head += textwrap.wrap(str(evaluation["notice"]), width)
    if evaluation["status"] != "completed":
        error = evaluation.get("error") or "no reason recorded"
        code = evaluation.get("error_code")
        head.append(f"Evaluation failed: {error}" + (f" ({code})" if code else ""))
        return "\n".join(head) + "\n"
    lines = [
        *head,
        f"Overall score: {number(evaluation.get('overall_score'))} / "
        f"{number(scale_max(evaluation))}" + (f" ({rubric['name']})" if rubric.get("name") else ""),
        "",
        "Scores",
        *table(("Criterion", "Score", "Weight", "Justification"), score_rows(evaluation), width),
        "",
        "Strengths",
        *_bullets(evaluation.get("strengths") or [], width),
        "",
        "Opportunities",
        *_bullets(evaluation.get("opportunities") or [], width),
        "",
        f"Comments ({len(evaluation.get('segment_feedback') or [])})",
        *comment_lines(evaluation, width),
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class Outcome:
    """What happened to one file, for the summary."""

    source: str
    status: str  # completed | failed | not evaluated
    evaluation: Mapping[str, Any] | None = None


def summary(outcomes: Sequence[Outcome], width: int = 100) -> str:
    rows = []
    for o in outcomes:
        e = o.evaluation or {}
        score = (
            f"{number(e.get('overall_score'))} / {number(scale_max(e))}"
            if o.status == "completed"
            else "-"
        )
        rows.append((o.source, o.status, score, str(e.get("id") or "-")))
    done = sum(o.status == "completed" for o in outcomes)
    return "\n".join(
        [
            f"Summary: {done} of {len(outcomes)} evaluated",
            *table(("File", "Status", "Score", "Evaluation"), rows, width),
        ]
    )
