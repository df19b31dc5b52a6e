"""Each signal the offline evaluator measures, one behaviour per test (no I/O)."""

from __future__ import annotations

from typing import Any

import pytest

from memoai.config.schemas import Rubric
from memoai.evaluation.grounding import Locator
from memoai.evaluation.offline import evaluate_offline
from memoai.evaluation.offline_analysers import ANALYSERS, saturating
from memoai.evaluation.offline_markup import code_score, mask_markup
from memoai.evaluation.offline_numbers import figures, has_quantity
from memoai.evaluation.offline_signals import (
    BENEFIT,
    HEDGE,
    extract,
    is_keyword_list,
    return_kinds,
    rubric_keywords,
)
from memoai.evaluation.text import words

SIGNALS = ["structure", "evidence", "financial", "ask", "risk", "readability"]


def _rubric() -> Rubric:
    guidance = {level: f"Level {level}." for level in range(1, 6)}
    names = [
        "Bottom Line and Structure",
        "Evidence and Data",
        "Financial Case",
        "Clear Ask and Next Steps",
        "Risks and Mitigations",
        "Clarity and Concision",
    ]
    weights = [20, 20, 20, 15, 15, 10]
    criteria = [
        {
            "id": signal,
            "name": name,
            "description": "What the leader looks for.",
            "weight": weight,
            "scoring_guidance": guidance,
            "offline_signal": signal,
        }
        for signal, name, weight in zip(SIGNALS, names, weights, strict=True)
    ]
    return Rubric.model_validate(
        {
            "name": "Test rubric",
            "scale": {"min": 1, "max": 5, "labels": {i: str(i) for i in range(1, 6)}},
            "criteria": criteria,
        }
    )


RUBRIC = _rubric()


def _facts(signal: str, text: str) -> dict[str, Any]:
    return ANALYSERS[signal](extract(text)).facts


def _points(signal: str, text: str) -> float:
    return ANALYSERS[signal](extract(text)).points


def _scores(text: str, language: str = "en") -> dict[str, int]:
    result = evaluate_offline(text, RUBRIC, language)
    by_name = {s["criterion"]: s["score"] for s in result["rubric_scores"]}
    return {sig: by_name[c.name] for sig, c in zip(SIGNALS, RUBRIC.criteria, strict=True)}


def _justification(text: str, signal: str, language: str = "en") -> str:
    result = evaluate_offline(text, RUBRIC, language)
    index = SIGNALS.index(signal)
    return str(result["rubric_scores"][index]["justification"])


def _kinds(text: str) -> list[str]:
    return [f.kind for f in figures(text)[0]]


# ------------------------------------------------------------------ markup


def test_masking_keeps_length_and_line_breaks() -> None:
    text = "<p>Line one</p>\n```\ncode 1\n```\nSee [the plan](https://x.example/1).\n"
    masked = mask_markup(text)
    assert len(masked) == len(text)
    assert [i for i, ch in enumerate(masked) if ch == "\n"] == [
        i for i, ch in enumerate(text) if ch == "\n"
    ]


def test_script_style_and_comment_bodies_are_blanked() -> None:
    text = (
        "<script>window.__xss=1; var roi = 250;</script>"
        "<style>.a { width: 100%; }</style><!-- ROI 300% payback 2 months -->Real text."
    )
    masked = mask_markup(text)
    assert masked.strip() == "Real text."


def test_unterminated_script_is_blanked_to_the_end() -> None:
    assert mask_markup("Intro.\n<script>var npv = 4500000;\nmore 12%").strip() == "Intro."


def test_tags_are_blanked_but_their_text_is_kept() -> None:
    masked = mask_markup('<p class="x" data-id="48213">We saved <b>$1.2M</b> last year.</p>')
    assert " ".join(masked.split()) == "We saved $1.2M last year."


def test_markdown_code_and_link_targets_are_blanked_but_link_text_is_kept() -> None:
    text = "Run `payback = 12` now.\n```js\nconst npv = 1500000;\n```\nRead [the 2024 audit](https://a.example/2024)."
    masked = mask_markup(text)
    assert "payback" not in masked and "1500000" not in masked and "https" not in masked
    assert "the 2024 audit" in masked


def test_urls_and_emails_are_blanked() -> None:
    masked = mask_markup(
        "Mail ana@example.org or see www.example.org/page?id=991 or http://x.io/7."
    )
    assert not any(ch.isdigit() for ch in masked)
    assert "Mail" in masked


@pytest.mark.parametrize(
    "line",
    [
        "for (let i = 0; i < 100; i++) { console.log(i * 25); }",
        "const roi = 0.42; const payback = 12;",
        "SELECT coste, ahorro FROM presupuesto WHERE anio = 2025;",
        'import os, sys; print(os.environ["KEY"])',
        '{"roi": 250, "payback_months": 3}',
    ],
)
def test_code_like_lines_are_treated_as_code(line: str) -> None:
    assert code_score(line) >= 2
    assert mask_markup(line).strip() == ""


@pytest.mark.parametrize(
    "line",
    [
        "- One-time costs: platform setup $185K, 250 device kits $115K, training $30K.",
        "2. Alert fatigue and nurse workload: tiered thresholds, a cap of 40 patients per RN.",
        "Sensitivity: with only a 20% reduction, the net benefit is still $232K a year.",
        "Select the vendor from two RFP finalists (for example, Option B) by May 14.",
        "- Retraso del proveedor: el pliego incluye una penalización del 1% por semana de retraso.",
    ],
)
def test_prose_lines_with_punctuation_are_not_code(line: str) -> None:
    assert code_score(line) < 2
    assert mask_markup(line) == line


def test_markdown_table_cells_are_kept_without_pipes() -> None:
    text = "| Option | Capital |\n|---|---|\n| B. Automation | $2.2M |\n"
    masked = mask_markup(text)
    assert "|" not in masked and "-" not in masked
    assert "$2.2M" in masked and "Automation" in masked


def test_numbers_inside_markup_are_reported_as_ignored() -> None:
    f = extract(
        "<script>var a = [12, 45, 78];</script>\nWe cut waits by 20% last year in the clinic."
    )
    assert f.masked_numbers == 3
    assert [fig.kind for fig in f.figures] == ["percent"]


# ------------------------------------------------------------------ numbers


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Readmissions were 36% last year", "percent"),
        ("a rise of 12 per cent in a year", "percent"),
        ("I request $1.02M for the program", "money"),
        ("a total of 450.000 € for the works", "money"),
        ("un ahorro anual de 2 M€ para el hospital", "money"),
        ("una inversión de 1,3 M€ en equipos", "money"),
        ("unos 150 mil euros al año", "money"),
        ("about USD 2 million in year one", "money"),
        ("it avoids 65 readmissions a year", "count"),
        ("2.4 million tests a year", "count"),
        ("it pays back in 12 months", "period"),
        ("se amortiza en 18 meses", "period"),
        ("a 90-day readmission rate", "period"),
        ("a decision at the May 14 committee", "date"),
        ("en el comité del 12 de marzo", "date"),
        ("approve it in FY2026 capital", "date"),
        ("the registry annual report published in 2024", "date"),
        ("an ROI of 3x over five years", "multiple"),
    ],
)
def test_numbers_with_a_unit_currency_or_date_are_evidence(text: str, kind: str) -> None:
    assert _kinds(text) == [kind]


@pytest.mark.parametrize(
    "text",
    [
        "Following up on ticket #88213 today",
        "The system is on version 3.2.14 now",
        "It runs v2 and build 20931 today",
        "The server IP is 10.0.4.27 and the port is 8443.",
        "Call me on 555-0187 ext 204 or see room 3B-112.",
        "See item 4 and page 33 of document 2024-117.",
        "Numbers from the spreadsheet: 12, 44, 873, 2, 19, 7.",
        "Also 0.3 and 1.75 and 42.",
        "Codes 10293, 55821 and 77310 apply.",
        "the abc123 field and the COVID-19 ward",
        "1. Low adherence is the first risk",
        "Give this memo 5 out of 5 or 5/5.",
        "Os escribo por el expediente 45/2024 y la incidencia 77812.",
        "Maybe 5, maybe 50, hard to say.",
    ],
)
def test_bare_digits_identifiers_and_versions_are_not_evidence(text: str) -> None:
    found, rejected = figures(text)
    assert found == []
    assert rejected >= 1


def test_a_range_is_one_figure() -> None:
    assert _kinds("the 25-45% range reported by comparable programs") == ["percent"]


def test_repeating_a_figure_counts_once() -> None:
    once = extract("Readmissions reached 36% last year in the HF group.")
    repeated = extract(
        "Readmissions reached 36% last year in the HF group. "
        "Again, readmissions reached 36% last year. The rate was 36% in the HF group."
    )
    assert once.distinct_figures() == repeated.distinct_figures() == 1


def test_a_sentence_listing_many_figures_counts_at_most_five() -> None:
    f = extract(
        "Across the nine medical wards the audited fall rates last year were 11% on ward A, "
        "12% on B, 13% on C, 14% on D, 15% on E, 16% on F and 17% on the two others."
    )
    assert len(f.prose) == 1 and f.distinct_figures() == 5


def test_a_line_made_mostly_of_numbers_is_not_prose() -> None:
    f = extract("Rates: 11%, 12%, 13%, 14%, 15%, 16%, 17%, 18% and 19% over the years.")
    assert f.prose == [] and f.ignored_sentences == 1


def test_evidence_has_diminishing_returns() -> None:
    def memo(n: int) -> str:
        return " ".join(f"Ward {chr(65 + i)} had {10 + i} falls last year." for i in range(n))

    five, ten, twenty = (_points("evidence", memo(n)) for n in (5, 10, 20))
    assert five < ten < twenty
    assert twenty - ten < ten - five
    assert saturating(100, 2.0, 0.12) <= 2.0


def test_periods_in_words_quantify_a_return() -> None:
    assert has_quantity("it pays for itself within three years")
    assert has_quantity("se paga sola en el primer año")
    assert not has_quantity("it pays for itself eventually")


# ------------------------------------------------------------------ financial phrasing


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("This means paying back the pilot in 12 months.", "payback"),
        ("The payback is about 20 months.", "payback"),
        ("It pays for itself within 9 months.", "payback"),
        ("We recoup the investment in two years.", "payback"),
        ("The program breaks even in year 2.", "break_even"),
        ("A return on investment of 35% a year.", "roi"),
        ("The ROI is roughly 3 to 1.", "roi"),
        ("A five-year NPV of $1.26M at 8%.", "npv"),
        ("An IRR of 18% over five years.", "irr"),
        ("La inversión se amortiza en 18 meses.", "amortización"),
        ("La inversión se recupera en unos 22 meses.", "amortización"),
        ("El retorno de la inversión es del 45% anual.", "retorno"),
        ("El VAN a cinco años es de 791.000 €.", "van"),
        ("Una TIR del 15% en cinco años.", "tir"),
        ("Alcanza el punto de equilibrio en el segundo año.", "equilibrio"),
    ],
)
def test_return_phrasing_is_recognised_in_english_and_spanish(text: str, kind: str) -> None:
    assert kind in return_kinds(text)
    assert has_quantity(text)


@pytest.mark.parametrize(
    "text",
    ["The van arrives at nine.", "We will return the forms.", "Patients go back home."],
)
def test_ordinary_words_are_not_return_phrasing(text: str) -> None:
    assert return_kinds(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "Savings reach $995K a year.",
        "Cost avoidance of $400K a year.",
        "Con un ahorro anual de 2 M€ en reparaciones.",
        "Los costes evitados suman 130.000 €.",
    ],
)
def test_savings_and_cost_avoidance_are_benefits(text: str) -> None:
    assert BENEFIT.search(text)
    assert "money" in _kinds(text)


FINANCE_EN = (
    "I request $210K to fit bed sensors on two wards. The sensors cost $150K one-time and "
    "$40K a year to run. They avoid about 11 falls with injury a year, saving $154K a year, "
    "paying back the pilot in 12 months."
)
FINANCE_ES = (
    "Solicito 1,1 M€ para sustituir las autoclaves. La inversión es de 1,1 M€ y el contrato de "
    "mantenimiento cuesta 65.000 € al año. Con un ahorro anual de 2 M€ en reparaciones y cirugías "
    "suspendidas, la inversión se amortiza en 18 meses."
)


def test_a_payback_phrased_memo_is_told_its_return_was_found() -> None:
    facts = _facts("financial", FINANCE_EN)
    assert facts["returns"] == ["payback"] and facts["return_quantified"]
    text = _justification(FINANCE_EN, "financial")
    assert "a quantified return (payback)" in text
    assert "the return (payback, ROI or NPV)" not in text
    assert "not shown" not in text


def test_a_spanish_amortisation_memo_is_told_its_return_was_found() -> None:
    facts = _facts("financial", FINANCE_ES)
    assert facts["costs"] and facts["benefits"] and facts["return_quantified"]
    text = _justification(FINANCE_ES, "financial", "es")
    assert "un retorno cuantificado (amortización)" in text
    assert "el retorno (ROI" not in text


def test_a_return_named_without_a_figure_is_reported_as_such() -> None:
    facts = _facts("financial", "We think the new scanner should pay for itself eventually.")
    assert facts["returns"] == ["payback"] and not facts["return_quantified"]


def test_an_amount_asked_for_counts_as_a_cost() -> None:
    assert _facts("financial", "I am requesting $1.6M for the upgrade project.")["costs"]


def test_no_financial_content_says_so() -> None:
    text = "The cafeteria food is not great and the staff would like better options at night."
    assert (
        _justification(text, "financial") == "No costs, benefits or return were found in figures."
    )


# ------------------------------------------------------------------ ask


def test_a_firm_ask_with_amount_date_and_owner_is_recognised() -> None:
    facts = _facts(
        "ask",
        "Approve $240K of capital at the August 20 operations committee. "
        "I will own delivery and report monthly to the COO.",
    )
    assert facts["ask"] == "firm" and facts["amount"] and facts["deadline"] and facts["owner"]
    assert facts["report"]


def test_a_spanish_ask_with_amount_and_date_is_recognised() -> None:
    facts = _facts("ask", "Les pido que aprueben 160.000 € de inversión el 20 de febrero.")
    assert facts["ask"] == "firm" and facts["amount"] and facts["deadline"]


@pytest.mark.parametrize(
    "text",
    [
        "We would like support from leadership to explore this further.",
        "Nos gustaría que la Dirección valorara la propuesta más adelante.",
    ],
)
def test_a_general_wish_is_a_tentative_ask(text: str) -> None:
    facts = _facts("ask", text)
    assert facts["ask"] == "vague" and not facts["amount"]


def test_a_duration_is_not_a_decision_date() -> None:
    facts = _facts("ask", "Propongo enviar recordatorios por SMS 48 horas antes de cada cita.")
    assert facts["ask"] == "firm" and not facts["deadline"]


def test_text_that_only_mentions_asking_is_not_an_ask() -> None:
    assert _facts("ask", "Patients like it and our survey comments ask for it often.")["ask"] == (
        "none"
    )


# ------------------------------------------------------------------ risk


def test_a_risk_with_its_mitigation_is_paired() -> None:
    facts = _facts(
        "risk",
        "The main risk is that patients stop home treatment. To limit this, we will visit each "
        "home before the first session.",
    )
    assert facts == {
        "risks": 1,
        "mitigations": 1,
        "paired": 1,
        "alternatives": False,
        "exit": False,
    }


def test_items_under_a_risks_heading_pair_risk_and_response() -> None:
    text = (
        "RISKS AND MITIGATIONS\n"
        "1. Sicker patients routed to fast track: triage nurses use a written exclusion list.\n"
        "2. Volume below forecast: if fewer than 45 patients a day come, we stop evening hours.\n"
    )
    facts = _facts("risk", text)
    assert facts["risks"] == 2 and facts["mitigations"] == 2 and facts["paired"] == 2
    assert facts["exit"]


def test_a_spanish_risk_and_measure_are_recognised() -> None:
    facts = _facts(
        "risk",
        "El mayor riesgo es que los pacientes abandonen en casa. Para reducirlo, la enfermera "
        "llamará a quien no registre dos sesiones seguidas.",
    )
    assert facts["risks"] == 1 and facts["mitigations"] == 1 and facts["paired"] == 1


def test_high_risk_patients_are_not_a_named_risk() -> None:
    assert (
        _facts("risk", "We enrol the 600 high-risk patients we discharge each year.")["risks"] == 0
    )


def test_alternatives_need_more_than_the_word_option() -> None:
    assert not _facts("risk", "Patients get the option to cancel by text message.")["alternatives"]
    assert _facts("risk", "Option B costs more than Option A but saves $845K a year.")[
        "alternatives"
    ]


# ------------------------------------------------------------------ structure and headings


def test_headings_need_content_and_count_once() -> None:
    text = (
        "Summary\nWe recommend a discharge lounge for $360K a year.\n\n"
        "Risks\nPatients may not want to leave their room early.\n\n"
        "Risks\nA second list of risks follows in this section.\n\n"
        "Executive Summary\nRisks and Mitigations\nFinancial Case\n\n"
        "Thanks,\nGreg\n"
    )
    assert [h.text for h in extract(text).headings] == ["Summary", "Risks"]


def test_markdown_headings_are_headings_and_greetings_are_not() -> None:
    text = (
        "## Risks and mitigations\nWe install in two phases over the weekends.\n\n"
        "Hola a todos:\nQuería comentar algo sobre la cafetería.\n"
    )
    assert [h.text for h in extract(text).headings] == ["Risks and mitigations"]


def test_a_bottom_line_up_front_is_found_and_a_late_one_is_not() -> None:
    context = " ".join(
        f"On day {i} the ED held {20 + i} patients in the corridor." for i in range(12)
    )
    ask = "I recommend we open a fast-track zone for $780K."
    assert _facts("structure", ask + " " + context)["where"] == "open"
    assert _facts("structure", context + " " + ask)["where"] == "late"
    assert _facts("structure", context)["where"] == "none"


def test_a_strong_memo_without_headings_still_scores_on_structure() -> None:
    paragraph = "The centre runs at 96% of capacity and 14 patients wait for a slot each week. "
    text = "I am asking you to approve $920K for a home dialysis program by November 4.\n\n" + (
        (paragraph * 2 + "\n\n") * 4
    )
    facts = _facts("structure", text)
    assert facts["headings"] == 0 and facts["paragraphs"] >= 4
    assert _scores(text)["structure"] >= 4


def test_hedges_and_greetings_lower_structure() -> None:
    plain = "I recommend a float pool of 25 nurses.\n\n" + "Agency spend was $6.2M last year. " * 6
    hedged = (
        "Hi all,\n\nI think maybe we could perhaps consider a float pool, I'm not sure.\n\n"
        + "Agency spend was $6.2M last year. " * 6
        + "\n\nThanks,\nSam"
    )
    assert _points("structure", hedged) < _points("structure", plain)


# ------------------------------------------------------------------ readability


def test_short_direct_sentences_read_better_than_long_hedged_ones() -> None:
    direct = " ".join(
        f"Ward {w} cut waits from {70 + i} to {30 + i} minutes. It costs ${500 + i}K a year."
        for i, w in enumerate("ABCDEFGHIJ")
    )
    rambling = " ".join(
        f"I think that on ward {w} it would probably be really good if we could maybe perhaps "
        "look at the many things that seem to be going on with the waits, which are kind of "
        "long, and a lot of people are honestly not very happy about them at all."
        for w in "ABCDE"
    )
    assert _scores(direct)["readability"] >= 4
    assert _scores(rambling)["readability"] <= 2


def test_too_little_prose_scores_lowest_on_clarity() -> None:
    assert _scores("<div><p>Approve it now please.</p></div>")["readability"] == 1


def test_padding_does_not_dilute_hedges() -> None:
    memo = "I think we should maybe buy new chairs. Perhaps the patients would probably like it. "
    padded = memo + "\n" + "ROI, NPV, payback, savings, evidence, data, benchmark, risk.\n" * 20
    plain, stuffed = extract(memo), extract(padded)
    assert stuffed.prose_words == plain.prose_words
    assert stuffed.per100(HEDGE) == plain.per100(HEDGE) > 0


# ------------------------------------------------------------------ keyword stuffing


@pytest.mark.parametrize(
    "text",
    [
        "ROI, NPV, IRR, payback, break-even, savings, cost, budget, capital, revenue.",
        "Risk mitigation risk mitigation risk mitigation.",
        "Retorno de la inversión, VAN, TIR, amortización, ahorro, coste, presupuesto.",
        "Our ROI and NPV and payback and savings are proven by evidence and data and benchmarks.",
    ],
)
def test_keyword_lists_are_not_prose(text: str) -> None:
    assert is_keyword_list(text, len(words(text)))


def test_the_rubric_names_recited_back_are_not_prose() -> None:
    keywords = rubric_keywords([c.name for c in RUBRIC.criteria])
    text = "Clear Ask and Next Steps with Evidence and Data."
    assert is_keyword_list(text, len(words(text)), keywords)


@pytest.mark.parametrize(
    "text",
    [
        "The program saves $640K a year and pays back in about 20 months.",
        "The main risk is that we cannot hire technologists fast enough.",
        "La inversión se recupera en unos 22 meses y el VAN es de 791.000 €.",
    ],
)
def test_real_sentences_with_keywords_are_prose(text: str) -> None:
    assert not is_keyword_list(text, len(words(text)))


def test_duplicate_sentences_are_ignored() -> None:
    f = extract("We need two more beds in the sleep lab. " * 5)
    assert len(f.prose) == 1 and f.ignored_sentences == 4


def test_stuffing_a_memo_with_keywords_changes_no_score() -> None:
    memo = (
        "Hi all, I think we should probably do something about the waiting room. It is kind of "
        "old and people don't really like it. Maybe new chairs, I'm not sure.\n\nThanks,\nSam"
    )
    stuffed = (
        memo
        + (
            "\n\nROI, NPV, payback, savings, cost, budget, capital, net benefit.\n"
            "Risk mitigation contingency fallback stage gate.\n"
            "Executive summary. Recommendation. Approve. Next steps. Owner. Timeline.\n"
        )
        * 3
    )
    assert _scores(stuffed) == _scores(memo)


# ------------------------------------------------------------------ feedback


MARKUP_MEMO = (
    '<script>var evidence = [12, 45, 78, 90];</script>\n<div data-id="48213">\n'
    "<p>I recommend we buy 12 new infusion pumps for $84K this year.</p>\n"
    "<p>Ward 4 recorded 31 pump faults last year, according to the biomedical report.</p>\n"
    "</div>\n"
)


def test_comments_quote_only_the_memos_own_prose_at_its_exact_offsets() -> None:
    result = evaluate_offline(MARKUP_MEMO, RUBRIC, "en")
    segments = [s["segment"] for s in result["segment_feedback"]]
    assert segments
    locator = Locator(MARKUP_MEMO)
    for segment in segments:
        assert "<" not in segment and ">" not in segment
        located = locator.locate(segment)
        assert located is not None
        assert MARKUP_MEMO[located.start : located.end] == segment


def test_evidence_justification_reports_what_was_ignored() -> None:
    text = _justification(MARKUP_MEMO, "evidence")
    assert text.startswith("3 distinct figures")
    assert "inside markup, code or links were ignored" in text


def test_opportunities_name_only_what_is_missing() -> None:
    text = (
        "I request $210K to fit bed sensors on two wards. The sensors cost $150K one-time and "
        "$40K a year to run, paying back the pilot in 12 months."
    )
    result = evaluate_offline(text, RUBRIC, "en")
    financial = [o for o in result["opportunities"] if o.startswith("Complete the financial case")]
    assert financial == [
        "Complete the financial case: add quantified benefits or savings and assumptions or "
        "sensitivity."
    ]


def test_the_evaluation_is_deterministic() -> None:
    assert evaluate_offline(MARKUP_MEMO, RUBRIC, "en") == evaluate_offline(
        MARKUP_MEMO, RUBRIC, "en"
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\n  ",
        "`" * 10_000,
        "http://" * 1_400,
        " " * 10_000,
        "[x](" * 2_500,
        "x" * 10_000,
        "<script " * 1_200,
        "Risk: " * 1_600,
        "del 1 " * 1_600,
        "\r\n".join(["TO: Board", "Summary", "We recommend approving $2M by June 30."] * 200),
    ],
)
def test_degenerate_input_still_gets_a_valid_grounded_evaluation(text: str) -> None:
    result = evaluate_offline(text, RUBRIC, "en")
    assert [s["criterion"] for s in result["rubric_scores"]] == [c.name for c in RUBRIC.criteria]
    assert all(1 <= s["score"] <= 5 for s in result["rubric_scores"])
    assert result["strengths"] and result["opportunities"]
    for segment in result["segment_feedback"]:
        assert segment["segment"] in text


def test_an_owner_field_names_an_owner_but_the_bare_word_does_not() -> None:
    assert _facts("ask", "Ask\n- Approve $450K on March 3.\n- Owner: Dr. Amy Chen, Director.\n")[
        "owner"
    ]
    assert not _facts("ask", "Approve $450K on March 3.\nOwner. Sponsor. Owner owner.\n")["owner"]


def test_dated_lines_under_a_plan_heading_are_next_steps() -> None:
    text = (
        "Plan\n- April: hire 6 RNs for the virtual ward.\n"
        "- May 1: first patients at home.\n- October: the 6-month review.\n"
    )
    assert _facts("ask", text)["steps"] == 3
