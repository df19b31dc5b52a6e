"""The offline evaluator: deterministic, rubric-driven, English and Spanish.

It measures what the rubric asks for (bottom line first, figures and sources,
the financial case, a specific ask, risks with mitigations, readable prose),
scores each criterion through its `offline_signal`, and anchors comments to
real sentences. It needs no network and is labelled "offline" wherever its
results appear.

It is built not to be fooled (see docs/architecture.md, "Offline evaluator"):
markup and code are blanked before anything is measured (`offline_markup`),
only numbers with a unit, currency or date are evidence (`offline_numbers`),
keyword lists and repeated lines are not prose (`offline_signals`), and every
cue has diminishing returns and a cap (`offline_analysers`). Each
justification reports what was found, so the feedback stays honest.

One module on purpose: the scorer's criteria and the comments it anchors
read the same measurements in one pass; the measurements themselves live
in the offline_* modules.
"""

from __future__ import annotations

import math
from typing import Any

from memoai.config.schemas import Rubric
from memoai.evaluation.offline_analysers import ANALYSERS, next_step
from memoai.evaluation.offline_signals import (
    ASK,
    BENEFIT,
    COST,
    FILLER,
    HEDGE,
    MITIGATION,
    RISK,
    VAGUE_QUANTITY,
    Features,
    Sentence,
    extract,
    money,
    quantified,
    return_kinds,
    rubric_keywords,
)


def _to_scale(points: float, rubric: Rubric) -> int:
    """Map 0..4 points onto the rubric's scale, halves rounding up."""
    lo, hi = rubric.scale.min, rubric.scale.max
    fraction = max(0.0, min(1.0, points / 4.0))
    return max(lo, min(hi, math.floor(lo + fraction * (hi - lo) + 0.5)))


# ------------------------------------------------------------------ wording

_T: dict[str, dict[str, str]] = {
    "en": {
        "strength_structure": "Leads with the bottom line and groups the support into clear sections.",
        "strength_evidence": "Uses specific figures and sources to support its claims.",
        "strength_financial": "Lays out costs, benefits and return so leaders can judge the investment.",
        "strength_ask": "Makes a specific, time-bound request with next steps.",
        "strength_risk": "Anticipates risks and pairs them with mitigations.",
        "strength_readability": "Reads clearly and concisely.",
        "opp_structure": "Open with a one-paragraph executive summary: the recommendation, the amount and the decision you need (Pyramid Principle).",
        "opp_evidence": "Quantify the problem with a baseline and cite where each key number comes from.",
        "opp_financial": "Complete the financial case: add {missing}.",
        "opp_financial_all": "Test the financial case: show how the return changes if the main assumption is off.",
        "opp_ask": "End with a SMART ask: what you need approved, how much, by when, and who owns delivery.",
        "opp_risk": "Name the two or three biggest risks and give each a concrete mitigation.",
        "opp_readability": "Cut hedging and filler; keep sentences under about 20 words.",
        "fallback_strength": "Addresses a topic that matters to the organisation.",
        "c_ask_early": "This is your ask, and it appears early, which is where a busy leader looks for it.",
        "c_ask_late": "This is the closest thing to an ask, but it comes late and lacks specifics.",
        "c_hedge": "Hedged wording here makes the case sound uncertain.",
        "c_vague": "This claim uses a vague quantity where a number would persuade.",
        "c_figures": "Strong, specific evidence: figures like these make the case credible.",
        "c_money": "This is a key financial claim; readers will test its assumptions.",
        "c_return": "The return is stated here, which is what a finance reader looks for first.",
        "c_risk": "A risk is named here; make sure each risk has a concrete mitigation.",
        "c_risk_paired": "This risk comes with a concrete response, which is what leaders look for.",
        "q_risk_paired": "How will you know early if this mitigation is not working?",
        "c_opening": "The opening sets the frame for the whole memo.",
        "q_ask_early": "Does this sentence say exactly what you need, how much and by when?",
        "q_ask_late": "What would change if this request were the first sentence of the memo?",
        "q_ask_late2": "What exactly should the reader approve, and by what date?",
        "q_hedge": "What evidence would let you state this without hedging?",
        "q_vague": "What is the actual number, and what is the baseline you are comparing it with?",
        "q_figures": "Which of these figures matters most to the decision, and is its source clear?",
        "q_money": "Which assumption drives this figure most, and what happens if it is off by half?",
        "q_return": "Which assumption moves this return most, and what is it in the worst case?",
        "q_risk": "What is the early-warning sign for this risk, and who acts on it?",
        "q_opening": "If a leader read only this sentence, would they know what you are asking for?",
        "q_opening2": "How could you state the recommendation here in one sentence?",
        "c_long": "This sentence is long; a busy reader may lose the point.",
        "q_long": "What is the one idea this sentence must carry, and can the rest go?",
        "c_next": "Timing and next steps help leaders see how the work will unfold.",
        "q_next": "Who owns this step, and what will leaders see when it is done?",
        "c_filler": "Filler words here dilute an otherwise useful point.",
        "q_filler": "Which words could you delete without losing any meaning?",
        "generic": "Scored from the memo's overall structure, evidence and clarity.",
    },
    "es": {
        "strength_structure": "Empieza por la conclusión y agrupa los argumentos en secciones claras.",
        "strength_evidence": "Usa cifras y fuentes concretas para respaldar sus afirmaciones.",
        "strength_financial": "Expone costes, beneficios y retorno para que la dirección pueda valorar la inversión.",
        "strength_ask": "Hace una petición concreta, con plazos y próximos pasos.",
        "strength_risk": "Anticipa los riesgos y los acompaña de medidas de mitigación.",
        "strength_readability": "Se lee con claridad y concisión.",
        "opp_structure": "Abra con un resumen ejecutivo de un párrafo: la recomendación, el importe y la decisión que necesita (principio de la pirámide).",
        "opp_evidence": "Cuantifique el problema con una línea de base y cite de dónde sale cada cifra clave.",
        "opp_financial": "Complete el caso financiero: añada {missing}.",
        "opp_financial_all": "Ponga a prueba el caso financiero: muestre cómo cambia el retorno si falla el supuesto principal.",
        "opp_ask": "Termine con una petición SMART: qué necesita que se apruebe, cuánto, para cuándo y quién es el responsable.",
        "opp_risk": "Nombre los dos o tres riesgos principales y asigne a cada uno una medida concreta.",
        "opp_readability": "Elimine vacilaciones y muletillas; mantenga las frases por debajo de unas 20 palabras.",
        "fallback_strength": "Trata un tema relevante para la organización.",
        "c_ask_early": "Esta es su petición y aparece pronto, que es donde la busca un directivo con poco tiempo.",
        "c_ask_late": "Es lo más parecido a una petición, pero llega tarde y sin detalles.",
        "c_hedge": "La formulación vacilante hace que el caso parezca inseguro.",
        "c_vague": "Esta afirmación usa una cantidad vaga donde una cifra convencería más.",
        "c_figures": "Evidencia concreta y sólida: cifras como estas dan credibilidad al caso.",
        "c_money": "Es una afirmación financiera clave; los lectores pondrán a prueba sus supuestos.",
        "c_return": "Aquí se indica el retorno, que es lo primero que busca un lector financiero.",
        "c_risk": "Aquí se menciona un riesgo; asegúrese de que cada riesgo tenga una mitigación concreta.",
        "c_risk_paired": "Este riesgo viene con una respuesta concreta, que es lo que busca la dirección.",
        "q_risk_paired": "¿Cómo sabrá a tiempo si esta medida no está funcionando?",
        "c_opening": "La apertura marca el tono de todo el memorando.",
        "q_ask_early": "¿Dice esta frase exactamente qué necesita, cuánto y para cuándo?",
        "q_ask_late": "¿Qué cambiaría si esta petición fuera la primera frase del memorando?",
        "q_ask_late2": "¿Qué debe aprobar exactamente el lector y en qué fecha?",
        "q_hedge": "¿Qué evidencia le permitiría afirmar esto sin rodeos?",
        "q_vague": "¿Cuál es la cifra real y con qué línea de base la compara?",
        "q_figures": "¿Cuál de estas cifras importa más para la decisión y está clara su fuente?",
        "q_money": "¿Qué supuesto influye más en esta cifra y qué pasa si se desvía a la mitad?",
        "q_return": "¿Qué supuesto mueve más este retorno y cuánto sería en el peor caso?",
        "q_risk": "¿Cuál es la señal de alerta temprana de este riesgo y quién actúa?",
        "q_opening": "Si un directivo leyera solo esta frase, ¿sabría qué le está pidiendo?",
        "q_opening2": "¿Cómo podría formular aquí la recomendación en una sola frase?",
        "c_long": "Esta frase es larga; un lector con prisa puede perder la idea.",
        "q_long": "¿Cuál es la única idea que debe transmitir esta frase y qué sobra?",
        "c_next": "Los plazos y próximos pasos ayudan a la dirección a ver cómo avanzará el proyecto.",
        "q_next": "¿Quién es responsable de este paso y qué verá la dirección cuando termine?",
        "c_filler": "Las muletillas diluyen aquí una idea que sí es útil.",
        "q_filler": "¿Qué palabras podría quitar sin perder significado?",
        "generic": "Puntuado según la estructura, la evidencia y la claridad del memorando.",
    },
}

# How each way of stating a return is named back to the writer.
_RETURN_NAMES = {
    "en": {
        "payback": "payback",
        "roi": "ROI",
        "npv": "NPV",
        "irr": "IRR",
        "break_even": "break-even",
        "amortización": "payback",
        "retorno": "return on investment",
        "van": "NPV",
        "tir": "IRR",
        "equilibrio": "break-even",
    },
    "es": {
        "payback": "plazo de recuperación",
        "roi": "ROI",
        "npv": "VAN",
        "irr": "TIR",
        "break_even": "punto de equilibrio",
        "amortización": "amortización",
        "retorno": "retorno de la inversión",
        "van": "VAN",
        "tir": "TIR",
        "equilibrio": "punto de equilibrio",
    },
}

# The fixed phrases of each justification; counts are filled in from the facts.
_W: dict[str, dict[str, str]] = {
    "en": {
        "open": "The recommendation or request is stated in the opening",
        "late": "A request appears, but only after the opening",
        "none": "No recommendation or request to the reader was found",
        "summary": "; a summary leads the memo",
        "headings": "; {n} organise the support",
        "heading": "heading", "heading_pl": "headings",
        "no_headings": "; the text runs in {n} without headings",
        "paragraph": "paragraph", "paragraph_pl": "paragraphs",
        "hedged": "; hedged wording weakens it",
        "informal": "; the tone is informal (greetings or sign-offs)",
        "evidence": "{n} with a unit, date or amount; {w} of {s} sentences carry one, {src} of them with a source and {cmp} with a baseline or benchmark.",
        "figure": "distinct figure", "figure_pl": "distinct figures",
        "masked": " {n} inside markup, code or links {verb} ignored.",
        "number": "number", "number_pl": "numbers",
        "rejected": " {n} numbers without a unit or context (identifiers, versions, bare lists) were not counted.",
        "fin_none": "No costs, benefits or return were found in figures.",
        "fin_shows": "The financial case shows ",
        "fin_missing": "; missing: ",
        "cost_split": "one-time and recurring costs", "cost": "costs in money", "cost_missing": "the costs in money",
        "benefits": "quantified benefits or savings",
        "return_q": "a quantified return ({k})", "return_named": "a return named without a figure ({k})",
        "return_missing": "the return (payback, ROI or NPV)",
        "assumptions": "assumptions or sensitivity", "funding": "the funding source",
        "ask_firm": "The memo makes a clear request", "ask_vague": "The request is tentative",
        "ask_none": "No request to the reader was found",
        "amount": "an amount", "deadline": "a decision date", "owner": "an owner",
        "with": ", with {items}", "lacks": "; it lacks {items}",
        "steps": "; {n}.", "step": "dated next step", "step_pl": "dated next steps",
        "risk_none": "No risks or mitigations were found.",
        "risk": "{r} risks and {m} mitigations; {p} a response next to them",
        "risk_sent": "sentence names", "risk_sent_pl": "sentences name",
        "mit_sent": "gives", "mit_sent_pl": "give",
        "paired": "risk has", "paired_pl": "risks have",
        "exit": "; there is an exit or fallback plan", "alternatives": "; alternatives are considered",
        "read": "Sentences average {a:.0f} words, with {h} and {fl} in {w} words of prose.",
        "hedge": "hedge", "hedge_pl": "hedges", "filler": "filler word", "filler_pl": "filler words",
        "little": " There is little prose to judge.",
        "ignored": " {n} of keywords, repetitions or bare numbers {verb} ignored.",
        "line": "line", "line_pl": "lines",
        "was": "was", "were": "were",
        "and": " and ",
    },
    "es": {
        "open": "La recomendación o petición aparece al principio",
        "late": "Hay una petición, pero aparece tarde",
        "none": "No se encontró una recomendación ni una petición clara",
        "summary": "; hay un resumen al inicio",
        "headings": "; {n} el contenido",
        "heading": "encabezado organiza", "heading_pl": "encabezados organizan",
        "no_headings": "; el texto sigue en {n} sin encabezados",
        "paragraph": "párrafo", "paragraph_pl": "párrafos",
        "hedged": "; las expresiones de duda lo debilitan",
        "informal": "; el tono es informal (saludos o despedidas)",
        "evidence": "{n} con unidad, fecha o importe; {w} de {s} frases contienen alguna, {src} de ellas con fuente y {cmp} con una referencia o línea de base.",
        "figure": "cifra distinta", "figure_pl": "cifras distintas",
        "masked": " {verb} {n} dentro de marcado, código o enlaces.",
        "number": "número", "number_pl": "números",
        "rejected": " No se contaron {n} números sin unidad ni contexto (identificadores, versiones, listas sueltas).",
        "fin_none": "No se encontraron costes, beneficios ni retorno cuantificados.",
        "fin_shows": "El caso financiero muestra ",
        "fin_missing": "; falta: ",
        "cost_split": "costes únicos y recurrentes", "cost": "costes en importes", "cost_missing": "los costes en importes",
        "benefits": "beneficios o ahorros cuantificados",
        "return_q": "un retorno cuantificado ({k})", "return_named": "un retorno mencionado sin cifra ({k})",
        "return_missing": "el retorno (ROI, plazo de recuperación o VAN)",
        "assumptions": "supuestos o sensibilidad", "funding": "la fuente de financiación",
        "ask_firm": "Hay una petición clara", "ask_vague": "La petición es tentativa",
        "ask_none": "No se encontró ninguna petición al lector",
        "amount": "importe", "deadline": "fecha de decisión", "owner": "responsable",
        "with": ", con {items}", "lacks": "; falta: {items}",
        "steps": "; {n}.", "step": "próximo paso con fecha", "step_pl": "próximos pasos con fecha",
        "risk_none": "No se encontraron riesgos ni medidas de mitigación.",
        "risk": "{r} riesgos y {m} medidas; {p} su respuesta al lado",
        "risk_sent": "frase nombra", "risk_sent_pl": "frases nombran",
        "mit_sent": "describe", "mit_sent_pl": "describen",
        "paired": "riesgo tiene", "paired_pl": "riesgos tienen",
        "exit": "; hay un plan de salida o de respaldo", "alternatives": "; se consideran alternativas",
        "read": "Las frases tienen una media de {a:.0f} palabras; {h} y {fl} en {w} palabras de texto.",
        "hedge": "expresión de duda", "hedge_pl": "expresiones de duda", "filler": "muletilla", "filler_pl": "muletillas",
        "little": " Hay poco texto que valorar.",
        "ignored": " {verb} {n} de palabras clave, repeticiones o números sueltos.",
        "line": "línea", "line_pl": "líneas",
        "was": "Se ignoró", "were": "Se ignoraron",
        "and": " y ",
    },
}  # fmt: skip


def _t(lang: str, key: str, **kw: Any) -> str:
    return _T[lang][key].format(**kw)


def _count(lang: str, n: int, noun: str) -> str:
    """ "1 heading", "3 headings": the noun from the wording table, in the right number."""
    return f"{n} {_W[lang][noun if n == 1 else noun + '_pl']}"


def _join(items: list[str], lang: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + _W[lang]["and"] + items[-1]


def _why_structure(x: dict[str, Any], lang: str) -> str:
    w = _W[lang]
    text = w[x["where"]] + (w["summary"] if x["summary"] else "")
    if x["headings"]:
        text += w["headings"].format(n=_count(lang, x["headings"], "heading"))
    else:
        text += w["no_headings"].format(n=_count(lang, x["paragraphs"], "paragraph"))
    text += w["hedged"] if x["hedged"] else ""
    text += w["informal"] if x["informal"] >= 2 else ""
    return text + "."


def _why_evidence(x: dict[str, Any], lang: str) -> str:
    w = _W[lang]
    text = w["evidence"].format(
        n=_count(lang, x["figures"], "figure"),
        w=x["with"],
        s=x["sentences"],
        src=x["sourced"],
        cmp=x["compared"],
    )
    if x["masked"]:
        verb = w["was"] if x["masked"] == 1 else w["were"]
        text += w["masked"].format(n=_count(lang, x["masked"], "number"), verb=verb)
    if x["rejected"] >= 3:
        text += w["rejected"].format(n=x["rejected"])
    return text


def _financial_parts(x: dict[str, Any], lang: str) -> tuple[list[str], list[str]]:
    w = _W[lang]
    found: list[str] = []
    missing: list[str] = []
    if x["costs"]:
        found.append(w["cost_split"] if x["split"] else w["cost"])
    else:
        missing.append(w["cost_missing"])
    (found if x["benefits"] else missing).append(w["benefits"])
    names = ", ".join(dict.fromkeys(_RETURN_NAMES[lang][k] for k in x["returns"]))
    if x["return_quantified"]:
        found.append(w["return_q"].format(k=names))
    elif names:
        found.append(w["return_named"].format(k=names))
    else:
        missing.append(w["return_missing"])
    (found if x["assumptions"] else missing).append(w["assumptions"])
    if x["funding"]:
        found.append(w["funding"])
    return found, missing


def _why_financial(x: dict[str, Any], lang: str) -> str:
    w = _W[lang]
    found, missing = _financial_parts(x, lang)
    if not found:
        return w["fin_none"]
    text = w["fin_shows"] + _join(found, lang)
    if missing:
        text += w["fin_missing"] + _join(missing, lang)
    return text + "."


def _why_ask(x: dict[str, Any], lang: str) -> str:
    w = _W[lang]
    items = [(w[key], bool(x[key])) for key in ("amount", "deadline", "owner")]
    has = [name for name, ok in items if ok]
    lacks = [name for name, ok in items if not ok]
    text = w["ask_" + x["ask"]]
    text += w["with"].format(items=_join(has, lang)) if has else ""
    text += w["lacks"].format(items=_join(lacks, lang)) if lacks else ""
    return text + w["steps"].format(n=_count(lang, x["steps"], "step"))


def _why_risk(x: dict[str, Any], lang: str) -> str:
    w = _W[lang]
    if not x["risks"] and not x["mitigations"]:
        return w["risk_none"]
    text = w["risk"].format(
        r=_count(lang, x["risks"], "risk_sent"),
        m=_count(lang, x["mitigations"], "mit_sent"),
        p=_count(lang, x["paired"], "paired"),
    )
    text += w["exit"] if x["exit"] else ""
    return text + (w["alternatives"] if x["alternatives"] else "") + "."


def _why_readability(x: dict[str, Any], lang: str) -> str:
    w = _W[lang]
    text = w["read"].format(
        a=x["avg"],
        h=_count(lang, x["hedges"], "hedge"),
        fl=_count(lang, x["fillers"], "filler"),
        w=x["words"],
    )
    text += w["little"] if x["words"] < 120 else ""
    if x["ignored"]:
        verb = w["was"] if x["ignored"] == 1 else w["were"]
        text += w["ignored"].format(n=_count(lang, x["ignored"], "line"), verb=verb)
    return text


_WHY = {
    "structure": _why_structure,
    "evidence": _why_evidence,
    "financial": _why_financial,
    "ask": _why_ask,
    "risk": _why_risk,
    "readability": _why_readability,
}


def _opportunity(signal: str, facts: dict[str, Any], lang: str) -> str:
    if signal == "financial":
        _, missing = _financial_parts(facts, lang)
        if not missing:
            return _t(lang, "opp_financial_all")
        return _t(lang, "opp_financial", missing=_join(missing, lang))
    return _t(lang, f"opp_{signal}")


def evaluate_offline(text: str, rubric: Rubric, language: str) -> dict[str, Any]:
    """Evaluate a memo deterministically; returns the same structure a provider does."""
    lang = language if language in _T else "en"
    f = extract(text, rubric_keywords([c.name for c in rubric.criteria]))
    signals = {name: analyse(f) for name, analyse in ANALYSERS.items()}
    generic = sum(s.points for s in signals.values()) / len(signals)

    rubric_scores = []
    by_signal: dict[str, int] = {}
    for criterion in rubric.criteria:
        signal = criterion.offline_signal
        if signal:
            score = _to_scale(signals[signal].points, rubric)
            by_signal[signal] = score
            justification = _WHY[signal](signals[signal].facts, lang)
        else:
            score = _to_scale(generic, rubric)
            justification = _t(lang, "generic")
        rubric_scores.append(
            {"criterion": criterion.name, "score": score, "justification": justification}
        )

    midpoint = (rubric.scale.min + rubric.scale.max) / 2
    ranked = sorted(by_signal.items(), key=lambda kv: (-kv[1], kv[0]))
    strengths = [_t(lang, f"strength_{sig}") for sig, sc in ranked if sc > midpoint][:4]
    if not strengths:
        strengths = [_t(lang, "fallback_strength")]
    opportunities = [
        _opportunity(sig, signals[sig].facts, lang)
        for sig, sc in reversed(ranked)
        if sc < rubric.scale.max
    ][:4]
    if not opportunities:
        opportunities = [_opportunity("financial", signals["financial"].facts, lang)]

    return {
        "language": language,
        "strengths": strengths,
        "opportunities": opportunities,
        "rubric_scores": rubric_scores,
        "segment_feedback": _segments(f, lang),
    }


def _distinct_figures(s: Sentence) -> int:
    return len({fig.key for fig in s.figures})


def _segments(f: Features, lang: str, limit: int = 7) -> list[dict[str, Any]]:
    chosen: list[tuple[int, dict[str, Any]]] = []
    used: set[int] = set()

    def add(s: Sentence, comment_key: str, *question_keys: str) -> bool:
        segment = f.text[s.span.start : s.span.end]
        if s.span.start in used or len(chosen) >= limit:
            return False
        # Quote only a first occurrence, so grounding anchors it where it was measured.
        if f.text.find(segment) != s.span.start:
            return False
        used.add(s.span.start)
        item = {
            "segment": segment,
            "comment": _t(lang, comment_key),
            "questions": [_t(lang, q) for q in question_keys],
        }
        chosen.append((s.span.start, item))
        return True

    def first(candidates: list[Sentence], comment_key: str, *question_keys: str) -> bool:
        return any(add(s, comment_key, *question_keys) for s in candidates)

    # Only the memo's own prose is quoted, never markup.
    body = [s for s in f.prose if s.quotable and s.words >= 5]
    if not body:
        return []
    opening = {s.span.start for s in f.opening()}
    asks = [s for s in body if ASK.search(s.span.text)]
    if asks and asks[0].span.start in opening:
        add(asks[0], "c_ask_early", "q_ask_early")
    elif asks:
        add(asks[0], "c_ask_late", "q_ask_late", "q_ask_late2")
    else:
        add(body[0], "c_opening", "q_opening", "q_opening2")

    first([s for s in body if return_kinds(s.span.text) and quantified(s)], "c_return", "q_return")
    first([s for s in body if HEDGE.search(s.span.text)], "c_hedge", "q_hedge")
    first(
        [s for s in body if VAGUE_QUANTITY.search(s.span.text) and not s.figures],
        "c_vague",
        "q_vague",
    )
    rich = [s for s in body if _distinct_figures(s) >= 3]
    first(
        sorted(rich, key=lambda s: (-_distinct_figures(s), s.span.start)), "c_figures", "q_figures"
    )
    first(
        [s for s in body if money(s) and (COST.search(s.span.text) or BENEFIT.search(s.span.text))],
        "c_money",
        "q_money",
    )
    risks = [s for s in body if RISK.search(s.span.text)]
    if not first([s for s in risks if not MITIGATION.search(s.span.text)], "c_risk", "q_risk"):
        first(risks, "c_risk_paired", "q_risk_paired")
    first([s for s in body if s.words > 30], "c_long", "q_long")
    first([s for s in body if next_step(s)], "c_next", "q_next")
    first([s for s in body if FILLER.search(s.span.text)], "c_filler", "q_filler")
    return [item for _, item in sorted(chosen, key=lambda pair: pair[0])]
