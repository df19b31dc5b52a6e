"""One analyser per `offline_signal`: 0..4 points and the facts behind them.

The facts are what the feedback reports back to the writer, so every message
the offline evaluator writes is about something it actually found. Points use
diminishing returns (the tenth figure adds little) and fixed caps, so no
single cue, however often repeated, can carry a criterion.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from memoai.evaluation.offline_signals import (
    ALTERNATIVE,
    ASK,
    ASSUMPTION,
    BENEFIT,
    COMPARISON,
    COST,
    DATE_WORD,
    EXIT,
    FILLER,
    FUNDING,
    HEDGE,
    INFORMAL,
    MITIGATION,
    NEXT_STEPS,
    OWNER,
    OWNER_FIELD,
    PLAN_HEADING,
    RECURRING,
    RISK,
    SOURCE,
    SUMMARY,
    UPFRONT,
    VAGUE_ASK,
    VAGUE_QUANTITY,
    Features,
    Sentence,
    money,
    quantified,
    return_kinds,
)

_ACTION = re.compile(r"(?i)\b(?:we|we'll|will|our|i)\b|\b\w+(?:aremos|eremos|iremos|aré|eré|iré)\b")
_SUMMARY_OPENER = re.compile(r"(?i)\W*(?:in short|in summary|bottom line|en resumen|en síntesis)\b")
_DECISION = re.compile(r"(?i)decision|decisión|deadline|\bby\b|antes de")
_REPORT_BACK = re.compile(
    r"(?i)report(?:ing)? (?:back|monthly|quarterly|weekly|to)|\bkpis?\b|informaremos|informaré"
    r"|informe (?:trimestral|semestral|mensual|al)|will report"
)


@dataclass
class Signal:
    points: float  # 0..4 before mapping onto the rubric's scale
    facts: dict[str, Any] = field(default_factory=dict)


def saturating(n: float, cap: float, rate: float) -> float:
    """Diminishing returns: the first few cues count most, the tenth adds little."""
    return cap * (1.0 - math.exp(-rate * n))


def dated(s: Sentence) -> bool:
    return any(f.kind in ("date", "period") for f in s.figures) or bool(
        DATE_WORD.search(s.span.text)
    )


def on_a_date(s: Sentence) -> bool:
    """A calendar date or deadline ("May 14", "Q3", "within 2 weeks"), not just a duration."""
    return any(f.kind == "date" for f in s.figures) or bool(DATE_WORD.search(s.span.text))


def next_step(s: Sentence) -> bool:
    """A step of the plan: under a next-steps heading, or a dated commitment to act."""
    if NEXT_STEPS.search(s.span.text) or PLAN_HEADING.search(s.section):
        return True
    return on_a_date(s) and bool(_ACTION.search(s.span.text))


def _cue(s: Sentence, pattern: re.Pattern[str]) -> bool:
    return bool(pattern.search(s.span.text))


def _responds(s: Sentence) -> bool:
    """ "Staff concerns: no redundancies; the FTE come from vacancies" – a risk and its answer."""
    _, colon, answer = s.span.text.partition(":")
    return bool(colon) and len(answer.split()) >= 5


def structure(f: Features) -> Signal:
    opening = f.opening()
    opening_starts = {s.span.start for s in opening}
    asks_open = [s for s in opening if _cue(s, ASK)]
    asks_late = [s for s in f.prose if _cue(s, ASK) and s.span.start not in opening_starts]
    third = len(f.clean) / 3
    summary = any(SUMMARY.search(h.text) and h.start <= third for h in f.headings) or any(
        _SUMMARY_OPENER.match(s.span.text) for s in opening
    )
    pts = 0.0
    if asks_open:
        pts += 1.25 + (0.5 if any(money(s) or dated(s) for s in asks_open) else 0.0)
    elif asks_late:
        pts += 0.5
    pts += 0.5 if summary else 0.0
    by_headings = min(1.25, 0.3 * len(f.headings))
    # Paragraphs alone are structure only when the bottom line leads them.
    by_paragraphs = 0.0
    if asks_open:
        by_paragraphs = 0.75 if f.paragraphs >= 4 else 0.4 if f.paragraphs >= 3 else 0.0
    pts += max(by_headings, by_paragraphs)
    hedge = f.per100(HEDGE)
    informal = len({m.lower() for m in INFORMAL.findall(f.clean)})
    pts -= min(1.0, 0.35 * hedge) + min(0.75, 0.25 * informal)
    where = "open" if asks_open else "late" if asks_late else "none"
    facts = {
        "where": where,
        "summary": summary,
        "headings": len(f.headings),
        "paragraphs": f.paragraphs,
        "hedged": hedge >= 1.0,
        "informal": informal,
    }
    return Signal(pts, facts)


def evidence(f: Features) -> Signal:
    with_figures = [s for s in f.prose if s.figures]
    sourced = [s for s in with_figures if _cue(s, SOURCE)]
    compared = [s for s in with_figures if _cue(s, COMPARISON)]
    cited = len({m.lower() for s in f.prose for m in SOURCE.findall(s.span.text)})
    coverage = len(with_figures) / max(len(f.prose), 1)
    n = f.distinct_figures()
    pts = (
        saturating(n, 2.0, 0.12)
        + min(0.5, coverage)
        + min(0.9, 0.3 * len(sourced))
        + min(0.3, 0.1 * cited)
        + min(0.6, 0.2 * len(compared))
    )
    facts = {
        "figures": n,
        "with": len(with_figures),
        "sentences": len(f.prose),
        "sourced": len(sourced),
        "compared": len(compared),
        "masked": f.masked_numbers,
        "rejected": f.rejected_numbers,
    }
    return Signal(pts, facts)


def financial(f: Features) -> Signal:
    # An amount the reader is asked to approve is a cost too ("I am requesting $1.6M").
    costs = [
        s
        for s in f.prose
        if money(s) and any(p.search(s.span.text) or p.search(s.section) for p in (COST, ASK))
    ]
    upfront = any(_cue(s, UPFRONT) for s in costs)
    recurring = any(_cue(s, RECURRING) for s in costs)
    benefits = [
        s
        for s in f.prose
        if money(s) and (_cue(s, BENEFIT) or BENEFIT.search(s.section) is not None)
    ]
    kinds: list[str] = []
    return_quantified = False
    for s in f.prose:
        found = return_kinds(s.span.text)
        kinds.extend(k for k in found if k not in kinds)
        return_quantified = return_quantified or bool(found and quantified(s))
    assumptions = any(_cue(s, ASSUMPTION) and quantified(s) for s in f.prose)
    funding = any(_cue(s, FUNDING) for s in f.prose)
    amounts = len({fig.key for fig in f.figures if fig.kind == "money"})
    pts = 0.8 if costs else 0.3 if f.with_cue(COST) else 0.0
    pts += 0.3 if upfront and recurring else 0.0
    pts += 0.8 if benefits else 0.2 if f.with_cue(BENEFIT) else 0.0
    pts += 1.2 if return_quantified else 0.5 if kinds else 0.0
    pts += (0.4 if assumptions else 0.0) + (0.2 if funding else 0.0)
    pts += saturating(amounts, 0.4, 0.15)
    facts = {
        "costs": bool(costs),
        "split": upfront and recurring,
        "benefits": bool(benefits),
        "returns": kinds,
        "return_quantified": return_quantified,
        "assumptions": assumptions,
        "funding": funding,
        "amounts": amounts,
    }
    return Signal(pts, facts)


def ask(f: Features) -> Signal:
    candidates = f.prose + ([f.subject] if f.subject else [])
    asks = [s for s in candidates if _cue(s, ASK)]
    firm = [s for s in asks if not _cue(s, VAGUE_ASK) and not _cue(s, HEDGE)]
    wishes = [s for s in f.prose if _cue(s, VAGUE_ASK)]
    amount = any(money(s) for s in asks + f.in_section(ASK))
    deadline = any(on_a_date(s) for s in asks + [s for s in candidates if _cue(s, _DECISION)])
    owner = bool(f.with_cue(OWNER) or OWNER_FIELD.search(f.clean))
    steps = [s for s in f.prose if next_step(s) and dated(s)]
    report_back = bool(f.with_cue(_REPORT_BACK))
    pts = 1.25 if firm else 0.75 if asks else 0.5 if wishes else 0.0
    pts += (0.9 if amount else 0.0) + (0.6 if deadline else 0.0) + (0.4 if owner else 0.0)
    pts += min(0.6, 0.2 * len(steps)) + (0.25 if report_back else 0.0)
    pts -= min(0.75, 0.25 * f.per100(HEDGE))
    facts = {
        "ask": "firm" if firm else "vague" if asks or wishes else "none",
        "amount": amount,
        "deadline": deadline,
        "owner": owner,
        "steps": len(steps),
        "report": report_back,
    }
    return Signal(pts, facts)


def risk(f: Features) -> Signal:
    in_section = {s.span.start for s in f.in_section(RISK)}
    risks = {s.span.start for s in f.prose if _cue(s, RISK) or s.span.start in in_section}
    mitigations = {
        s.span.start
        for s in f.prose
        if _cue(s, MITIGATION)
        or (s.span.start in in_section and (_cue(s, _ACTION) or _responds(s)))
    }
    paired = 0
    for i, s in enumerate(f.prose):
        following = f.prose[i + 1].span.start if i + 1 < len(f.prose) else -1
        if s.span.start in risks and (s.span.start in mitigations or following in mitigations):
            paired += 1
    alternatives = bool(f.with_cue(ALTERNATIVE))
    exit_plan = any(_cue(s, EXIT) for s in f.prose if s.span.start in mitigations)
    pts = (
        saturating(len(risks), 1.4, 0.45)
        + saturating(len(mitigations), 1.4, 0.45)
        + min(0.6, 0.2 * paired)
        + (0.4 if alternatives else 0.0)
        + (0.3 if exit_plan else 0.0)
    )
    facts = {
        "risks": len(risks),
        "mitigations": len(mitigations),
        "paired": paired,
        "alternatives": alternatives,
        "exit": exit_plan,
    }
    return Signal(pts, facts)


def readability(f: Features) -> Signal:
    lengths = [s.words for s in f.prose]
    avg = sum(lengths) / len(lengths) if lengths else 0.0
    facts = {
        "avg": avg,
        "hedges": sum(len(HEDGE.findall(s.span.text)) for s in f.prose),
        "fillers": sum(len(FILLER.findall(s.span.text)) for s in f.prose),
        "words": f.prose_words,
        "ignored": f.ignored_sentences,
    }
    if f.prose_words < 40:
        return Signal(0.0, facts)  # too little prose to call it clear
    pts = 4.0
    pts -= (0.75 if avg > 22 else 0.0) + (0.75 if avg > 28 else 0.0)
    pts -= min(0.5, 2.0 * sum(1 for n in lengths if n > 35) / len(lengths))
    # Densities are per 100 words of prose, so padding a memo cannot dilute its hedges.
    pts -= min(1.5, 0.5 * f.per100(HEDGE)) + min(1.0, 0.3 * f.per100(FILLER))
    pts -= min(0.5, 0.15 * f.per100(VAGUE_QUANTITY))
    pts -= 1.5 if f.prose_words < 120 else 0.75 if f.prose_words < 200 else 0.0
    pts -= 1.0 if f.prose_words > 1400 else 0.0
    return Signal(pts, facts)


ANALYSERS: dict[str, Callable[[Features], Signal]] = {
    "structure": structure,
    "evidence": evidence,
    "financial": financial,
    "ask": ask,
    "risk": risk,
    "readability": readability,
}
