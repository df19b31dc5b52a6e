"""The offline evaluator against a labelled set of memos, adversarial ones included.

tests/fixtures/offline_memos/manifest.json labels each memo strong, medium or
weak (with its language and, for adversarial memos, what it tries). The
overall score must rank memos like the labels do, per language too, and the
tricks (keyword stuffing, numbers without meaning, markup and script
injection) must not pay.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from memoai.config import load_settings
from memoai.config.settings import _read_business
from memoai.evaluation.draft import parse_draft
from memoai.evaluation.language import detect_language
from memoai.evaluation.offline import evaluate_offline
from memoai.evaluation.scoring import weighted_overall

REPO = Path(__file__).resolve().parents[2]
MEMOS = REPO / "tests" / "fixtures" / "offline_memos"
LEVEL = {"strong": 3, "medium": 2, "weak": 1}
MIN_SPEARMAN = 0.8


# ------------------------------------------------------------------ rank correlation


def average_ranks(values: list[float]) -> list[float]:
    """1-based ranks; tied values share the mean of the ranks they span."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(xs: list[float], ys: list[float]) -> float:
    """Spearman's rho: the Pearson correlation of the average ranks."""
    assert len(xs) == len(ys) >= 2
    rx, ry = average_ranks(xs), average_ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx = sum((a - mx) ** 2 for a in rx)
    vy = sum((b - my) ** 2 for b in ry)
    if vx == 0 or vy == 0:
        return 0.0  # one side is constant: no agreement to speak of
    return float(cov / (vx * vy) ** 0.5)


def test_average_ranks_share_ties() -> None:
    assert average_ranks([10, 20, 20, 30]) == [1.0, 2.5, 2.5, 4.0]
    assert average_ranks([3, 3, 3]) == [2.0, 2.0, 2.0]


def test_spearman_matches_known_values() -> None:
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # Hand-computed with average ranks: x ranks 1,2,3,4; y ranks 1.5,1.5,3,4 → rho = 0.9487.
    assert spearman([1, 2, 3, 4], [5, 5, 6, 7]) == pytest.approx(0.9486833, abs=1e-6)
    assert spearman([1, 2, 3], [2, 2, 2]) == 0.0


# ------------------------------------------------------------------ the labelled set


@pytest.fixture(scope="module")
def rubric() -> Any:
    settings = load_settings({"CONFIG_DIR": str(REPO / "config"), "DATA_DIR": "/tmp/unused"})
    return _read_business(settings.runtime.config_dir, settings.lookup()).rubric


@pytest.fixture(scope="module")
def labelled() -> list[dict[str, Any]]:
    manifest = json.loads((MEMOS / "manifest.json").read_text(encoding="utf-8"))
    for item in manifest:
        item["text"] = (MEMOS / item["file"]).read_text(encoding="utf-8")
    return list(manifest)


def evaluate(text: str, rubric: Any) -> tuple[float, dict[str, int], dict[str, str]]:
    """Overall score, criterion scores and justifications, keyed by offline signal."""
    language, _ = detect_language(text)
    result = evaluate_offline(text, rubric, language)
    draft = parse_draft(result, rubric)
    by_name = {s.criterion: s for s in draft.rubric_scores}
    overall = weighted_overall(rubric, {name: s.score for name, s in by_name.items()})
    signal = {c.name: c.offline_signal or c.id for c in rubric.criteria}
    scores = {signal[name]: s.score for name, s in by_name.items()}
    why = {signal[name]: s.justification for name, s in by_name.items()}
    return overall, scores, why


@pytest.fixture(scope="module")
def scored(labelled: list[dict[str, Any]], rubric: Any) -> list[dict[str, Any]]:
    rows = []
    for memo in labelled:
        overall, scores, why = evaluate(memo["text"], rubric)
        rows.append({**memo, "overall": overall, "scores": scores, "why": why})
    return rows


def _rho(rows: list[dict[str, Any]]) -> float:
    return spearman([r["overall"] for r in rows], [LEVEL[r["label"]] for r in rows])


def _table(rows: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{r['overall']:.2f} {r['label']:6} {r['file']}"
        for r in sorted(rows, key=lambda r: -r["overall"])
    )


def test_the_set_is_large_bilingual_and_covers_the_tricks(labelled: list[dict[str, Any]]) -> None:
    assert len(labelled) >= 30
    assert len({m["file"] for m in labelled}) == len(labelled)
    for language in ("en", "es"):
        assert {m["label"] for m in labelled if m["language"] == language} == set(LEVEL)
    tricks = {m["adversarial"] for m in labelled if m["adversarial"]}
    assert {
        "keyword_stuffing",
        "numbers_without_meaning",
        "markup_injection",
        "no_headings",
        "payback_phrased",
    } <= tricks
    assert all(m["note"].strip() for m in labelled)


def test_language_detection_matches_the_manifest(labelled: list[dict[str, Any]]) -> None:
    for memo in labelled:
        assert detect_language(memo["text"])[0] == memo["language"], memo["file"]


def test_overall_score_ranks_memos_like_their_labels(scored: list[dict[str, Any]]) -> None:
    assert _rho(scored) >= MIN_SPEARMAN, _table(scored)


@pytest.mark.parametrize("language", ["en", "es"])
def test_ranking_agrees_with_labels_within_each_language(
    scored: list[dict[str, Any]], language: str
) -> None:
    rows = [r for r in scored if r["language"] == language]
    assert len(rows) >= 12
    assert _rho(rows) >= MIN_SPEARMAN, _table(rows)


def test_every_strong_memo_outscores_every_weak_one(scored: list[dict[str, Any]]) -> None:
    strong = [r["overall"] for r in scored if r["label"] == "strong"]
    weak = [r["overall"] for r in scored if r["label"] == "weak"]
    assert min(strong) > max(weak), _table(scored)


def test_adversarial_weak_memos_score_below_every_medium_memo(
    scored: list[dict[str, Any]],
) -> None:
    medium = min(r["overall"] for r in scored if r["label"] == "medium")
    for row in scored:
        if row["label"] == "weak" and row["adversarial"]:
            assert row["overall"] < medium, (row["file"], row["overall"], medium)


def test_strong_memos_without_headings_still_outscore_every_medium_memo(
    scored: list[dict[str, Any]],
) -> None:
    for language in ("en", "es"):
        medium = max(
            r["overall"] for r in scored if r["label"] == "medium" and r["language"] == language
        )
        plain = [r for r in scored if r["adversarial"] == "no_headings"]
        for row in (r for r in plain if r["language"] == language):
            assert row["overall"] > medium, (row["file"], row["overall"], medium)
            assert row["scores"]["structure"] >= 4


def test_markup_and_numbers_without_meaning_score_lowest_on_evidence(
    scored: list[dict[str, Any]],
) -> None:
    tricks = [
        r for r in scored if r["adversarial"] in ("markup_injection", "numbers_without_meaning")
    ]
    assert len(tricks) >= 4
    for row in tricks:
        assert row["scores"]["evidence"] == 1, (row["file"], row["why"]["evidence"])
        assert row["why"]["evidence"].startswith(("0 distinct figures", "0 cifras distintas"))


def test_markup_memos_are_told_what_was_ignored(scored: list[dict[str, Any]]) -> None:
    for row in (r for r in scored if r["adversarial"] == "markup_injection"):
        why = row["why"]["evidence"]
        assert "inside markup, code or links" in why or "dentro de marcado, código" in why


def test_payback_phrased_memos_get_credit_for_their_return(scored: list[dict[str, Any]]) -> None:
    rows = [r for r in scored if r["adversarial"] == "payback_phrased"]
    assert {r["language"] for r in rows} == {"en", "es"}
    for row in rows:
        why = row["why"]["financial"]
        assert row["scores"]["financial"] >= 4, why
        assert (
            "a quantified return (payback)" in why or "retorno cuantificado (amortización)" in why
        )
        assert "the return (payback" not in why and "el retorno (ROI" not in why


def test_html_and_markdown_memos_are_scored_on_their_content(
    scored: list[dict[str, Any]], rubric: Any
) -> None:
    for row in (r for r in scored if r["adversarial"] in ("markdown", "html_wrapped")):
        expected = {"strong": 4.0, "medium": 2.0}[row["label"]]
        assert row["overall"] >= expected, (row["file"], row["overall"])


# ------------------------------------------------------------------ stuffing does not pay

STUFFING = {
    "en": [
        "ROI, NPV, IRR, payback, break-even, savings, cost, budget, capital, net benefit.\n"
        "Evidence, data, study, benchmark, baseline, pilot, survey, report, source.\n"
        "Risks, mitigation, contingency, fallback, safeguard, stage gate, alternatives.\n"
        "Next steps, timeline, milestones, owner, sponsor, KPIs, deadline, implementation.\n",
        "Risk mitigation ROI payback NPV evidence data benchmark approve recommend next steps.\n"
        * 8,
        "Executive Summary\nRisks and Mitigations\nFinancial Case\nNext Steps\nThe Ask\n",
        "Our ROI, NPV and payback are strong, and every risk has a mitigation, an owner and a "
        "timeline. We recommend approval based on evidence, data, benchmarks and a pilot.\n",
        "Bottom Line and Structure. Evidence and Data. Financial Case. Clear Ask and Next Steps. "
        "Risks and Mitigations. Clarity and Concision.\n",
    ],
    "es": [
        "Retorno de la inversión, VAN, TIR, amortización, ahorro, coste, presupuesto, inversión.\n"
        "Evidencia, datos, estudio, informe, encuesta, piloto, referencia.\n"
        "Riesgos, mitigación, medidas, plan de contingencia, salvaguardas, alternativas.\n"
        "Próximos pasos, cronograma, hitos, responsable, indicadores, plazo.\n",
        "Riesgo mitigación retorno VAN ahorro evidencia datos aprobar recomendación próximos "
        "pasos.\n" * 8,
        "Resumen ejecutivo\nRiesgos y mitigación\nAnálisis económico\nPróximos pasos\n",
        "Nuestro retorno de la inversión, el VAN y la amortización son sólidos, y cada riesgo "
        "tiene su mitigación, su responsable y su cronograma. Recomendamos aprobarlo según la "
        "evidencia, los datos y el piloto.\n",
    ],
}


def test_keyword_stuffing_raises_no_memo_by_more_than_half_a_point(
    scored: list[dict[str, Any]], rubric: Any
) -> None:
    for row in scored:
        for stuffing in STUFFING[row["language"]]:
            stuffed, _, _ = evaluate(row["text"] + "\n\n" + stuffing, rubric)
            assert stuffed - row["overall"] <= 0.5, (row["file"], stuffing[:40], stuffed)


def test_stuffed_fixtures_score_no_higher_than_their_plain_weak_peers(
    scored: list[dict[str, Any]],
) -> None:
    for language in ("en", "es"):
        plain = [
            r["overall"]
            for r in scored
            if r["label"] == "weak" and not r["adversarial"] and r["language"] == language
        ]
        for row in scored:
            if row["adversarial"] == "keyword_stuffing" and row["language"] == language:
                assert row["overall"] <= max(plain), (row["file"], row["overall"], plain)


def test_hiding_figures_in_code_or_appending_bare_numbers_adds_nothing(
    scored: list[dict[str, Any]], rubric: Any
) -> None:
    extras = [
        "```python\nroi = 3.5  # 250% return\npayback_months = 12\nsavings = [1200000]\n```\n"
        "<script>var npv = 4500000; var risk = 'mitigated 95%';</script>\n",
        "Codes 10293, 55821 and 77310; version 3.2.14; ticket #88213; 12, 44, 873, 2, 19.\n",
        "Figures: 36%, 45%, $1.2M, $3.4M, 12 months, 18 months, 600 patients, 250 beds, 14%.\n",
    ]
    for row in scored:
        for extra in extras:
            padded, _, _ = evaluate(row["text"] + "\n\n" + extra, rubric)
            assert padded <= row["overall"], (row["file"], extra[:30], padded)
