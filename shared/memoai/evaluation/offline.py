"""The offline evaluator: deterministic, rubric-driven, English and Spanish.

It measures what the rubric asks for (bottom line first, figures and sources,
the financial case, a specific ask, risks with mitigations, readable prose),
scores each criterion through its `offline_signal`, and anchors comments to
real sentences. It needs no network and is labelled "offline" wherever its
results appear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from memoai.config.schemas import Criterion, Rubric
from memoai.evaluation.text import Span, paragraphs, sentences, words


def _terms(*items: str) -> re.Pattern[str]:
    return re.compile(r"(?i)(?<![\w])(?:" + "|".join(items) + r")")


RECOMMEND = _terms(
    r"recommend\w*", r"request\w*", r"propos\w*", r"approv\w*", r"seek\w*", r"the ask",
    r"i am asking", r"we ask", r"decision", r"recomiend\w*", r"recomend\w*", r"solicit\w*",
    r"propon\w*", r"propuesta", r"aprob\w*", r"decisión", r"pedimos", r"pido",
)  # fmt: skip
SUMMARY = _terms(
    r"executive summary", r"bottom line", r"summary", r"in short", r"resumen ejecutivo",
    r"resumen", r"en resumen", r"conclusión",
)  # fmt: skip
SOURCE = _terms(
    r"according to", r"study", r"studies", r"pilot", r"benchmark\w*", r"baseline", r"data",
    r"report\w*", r"survey", r"published", r"source", r"comparable programs?", r"evidence",
    r"literature", r"last year", r"prior \d+ months", r"según", r"estudio\w*", r"piloto",
    r"datos", r"informe\w*", r"encuesta\w*", r"evidencia", r"referencia\w*", r"el año pasado",
    r"validad\w*", r"prevalencia",
)  # fmt: skip
FINANCE = _terms(
    r"roi", r"return on investment", r"payback", r"npv", r"net present value", r"savings?",
    r"costs?", r"budget\w*", r"capital", r"operating", r"revenue", r"margin", r"reimburse\w*",
    r"net benefit", r"break\s?even", r"fte", r"sensitivity", r"one-time", r"annual",
    r"retorno", r"amortiz\w*", r"recupera\w*", r"van", r"ahorro\w*", r"coste\w*", r"costo\w*",
    r"presupuest\w*", r"inversión", r"gasto\w*", r"ingreso\w*", r"margen", r"beneficio neto",
    r"sensibilidad",
)  # fmt: skip
MONEY = re.compile(
    r"(?i)(?:[$€£]\s?\d[\d,.]*\s?(?:[kmb]\b|million|billion|millones)?"
    r"|\d[\d,.]*\s?(?:€|(?:euros?|usd|eur|dólares|million|millones|mil euros)\b))"
)
NUMBER = re.compile(r"(?<![\w])\d[\d,.]*%?")
DATE = _terms(
    r"january", r"february", r"march", r"april", r"may \d", r"june", r"july", r"august",
    r"september", r"october", r"november", r"december", r"q[1-4]", r"fy\s?\d+", r"fiscal",
    r"by (?:the )?end of", r"deadline", r"within \d+", r"month \d+", r"week \d+",
    r"enero", r"febrero", r"marzo", r"abril", r"mayo", r"junio", r"julio", r"agosto",
    r"septiembre", r"octubre", r"noviembre", r"diciembre", r"antes del?", r"plazo",
    r"ejercicio", r"trimestre",
)  # fmt: skip
NEXT_STEPS = _terms(
    r"next steps?", r"implementation", r"timeline", r"milestones?", r"owner", r"sponsor",
    r"kpis?", r"stage[- ]gate", r"report back", r"we will", r"plan de implantación",
    r"próximos pasos", r"cronograma", r"calendario", r"hitos?", r"responsable",
    r"indicadores?", r"evaluación de", r"piloto en",
)  # fmt: skip
RISK = _terms(
    r"risks?", r"downside", r"concern\w*", r"challenge\w*", r"threat\w*", r"if .{3,40} fails?",
    r"alternatives?", r"riesgos?", r"amenaza\w*", r"inconveniente\w*", r"alternativa\w*",
    r"dependencia", r"falsos negativos",
)  # fmt: skip
MITIGATION = _terms(
    r"mitigat\w*", r"contingenc\w*", r"fallback", r"safeguard\w*", r"we will stop",
    r"cap\w* (?:spending|at)", r"threshold\w*", r"review at", r"stage[- ]gate", r"exit",
    r"mitiga\w*", r"medidas?", r"cláusula", r"auditoría", r"revisará", r"salvaguarda\w*",
    r"plan de contingencia", r"exigimos",
)  # fmt: skip
HEDGE = _terms(
    r"i think", r"i feel", r"i believe", r"maybe", r"perhaps", r"probably", r"hopefully",
    r"kind of", r"sort of", r"i'?m not sure", r"not sure", r"i guess", r"might", r"seems?",
    r"creo que", r"me parece", r"quizás?", r"tal vez", r"a lo mejor", r"igual se",
    r"no sé", r"supongo", r"no lo tengo (?:muy )?claro", r"probablemente",
)  # fmt: skip
FILLER = _terms(
    r"very", r"really", r"basically", r"honestly", r"a lot", r"lots of", r"things?",
    r"anyway", r"just", r"stuff", r"muy", r"realmente", r"básicamente", r"la verdad",
    r"mucho", r"muchas? veces", r"cosas?", r"bastante",
)  # fmt: skip
VAGUE_QUANTITY = _terms(
    r"a lot", r"many", r"some", r"several", r"a few", r"significant\w*", r"various",
    r"mucho\w*", r"muchas", r"alguno?s?", r"algunas", r"varios", r"varias", r"bastante",
)  # fmt: skip
INFORMAL = _terms(
    r"hi all", r"hello", r"hey", r"thanks", r"best regards", r"cheers", r"let me know",
    r"buenos días", r"un saludo", r"hola", r"gracias", r"saludos",
)  # fmt: skip
HEADING_LINE = re.compile(r"^\s*(?:#+\s*)?[A-ZÁÉÍÓÚÑ0-9][^\n.!?]{1,60}:?\s*$")


@dataclass
class Features:
    text: str
    words: int
    sentences: list[Span]
    paragraphs: int
    headings: int
    numbers: int
    money: int
    counts: dict[str, int] = field(default_factory=dict)
    recommend_early: bool = False
    avg_sentence_words: float = 0.0

    def per100(self, key: str) -> float:
        return 100.0 * self.counts.get(key, 0) / max(self.words, 1)


def extract(text: str) -> Features:
    sents = sentences(text)
    n_words = len(words(text))
    lines = text.splitlines()
    headings = sum(
        1
        for line in lines
        if HEADING_LINE.match(line) and len(words(line)) <= 6 and not line.strip().endswith(",")
    )
    counts = {
        name: len(pattern.findall(text))
        for name, pattern in {
            "recommend": RECOMMEND,
            "summary": SUMMARY,
            "source": SOURCE,
            "finance": FINANCE,
            "date": DATE,
            "next_steps": NEXT_STEPS,
            "risk": RISK,
            "mitigation": MITIGATION,
            "hedge": HEDGE,
            "filler": FILLER,
            "vague": VAGUE_QUANTITY,
            "informal": INFORMAL,
        }.items()
    }
    first_quarter = text[: max(1, len(text) // 4)]
    sentence_words = [len(words(s.text)) for s in sents if len(words(s.text)) >= 3]
    return Features(
        text=text,
        words=n_words,
        sentences=sents,
        paragraphs=len(paragraphs(text)),
        headings=headings,
        numbers=len(NUMBER.findall(text)),
        money=len(MONEY.findall(text)),
        counts=counts,
        recommend_early=bool(RECOMMEND.search(first_quarter)),
        avg_sentence_words=(sum(sentence_words) / len(sentence_words)) if sentence_words else 0.0,
    )


def _to_scale(points: float, rubric: Rubric) -> int:
    """Map 0..4 points onto the rubric's scale."""
    lo, hi = rubric.scale.min, rubric.scale.max
    fraction = max(0.0, min(1.0, points / 4.0))
    return max(lo, min(hi, round(lo + fraction * (hi - lo))))


def _structure(f: Features) -> float:
    pts = 0.0
    pts += 1.5 if f.recommend_early else 0.0
    pts += 0.75 if f.counts["summary"] else 0.0
    pts += min(1.25, f.headings * 0.25)
    pts += 0.5 if f.paragraphs >= 4 else 0.0
    pts -= min(1.5, f.per100("hedge") * 0.5)
    pts -= 0.5 if f.counts["informal"] >= 2 else 0.0
    return pts


def _evidence(f: Features) -> float:
    density = 100.0 * f.numbers / max(f.words, 1)
    return min(2.5, density * 0.4) + min(1.5, f.counts["source"] * 0.3)


def _financial(f: Features) -> float:
    return min(2.0, f.money * 0.2) + min(2.0, f.counts["finance"] * 0.15)


def _ask(f: Features) -> float:
    pts = 0.0
    ask_sentences = [s for s in f.sentences if RECOMMEND.search(s.text)]
    if ask_sentences:
        pts += 1.0
        if any(MONEY.search(s.text) for s in ask_sentences):
            pts += 1.0
    pts += min(1.0, f.counts["date"] * 0.25)
    pts += min(1.0, f.counts["next_steps"] * 0.25)
    pts -= min(1.0, f.per100("hedge") * 0.3)
    return pts


def _risk(f: Features) -> float:
    return min(2.0, f.counts["risk"] * 0.4) + min(2.0, f.counts["mitigation"] * 0.4)


def _readability(f: Features) -> float:
    pts = 4.0
    if f.avg_sentence_words > 24:
        pts -= 1.0
    if f.avg_sentence_words > 30:
        pts -= 1.0
    pts -= min(2.0, f.per100("hedge") * 0.6)
    pts -= min(1.0, f.per100("filler") * 0.3)
    if f.words < 150 or f.words > 1400:
        pts -= 1.0
    return pts


ANALYSERS = {
    "structure": _structure,
    "evidence": _evidence,
    "financial": _financial,
    "ask": _ask,
    "risk": _risk,
    "readability": _readability,
}

# ------------------------------------------------------------------ wording

_T: dict[str, dict[str, str]] = {
    "en": {
        "structure_hi": "The recommendation comes first and the memo is organised into clear sections{h}.",
        "structure_lo": "The main recommendation is not stated up front, and the memo has little visible structure{h}.",
        "evidence_hi": "Claims are backed by {n} figures ({d:.1f} per 100 words) and {s} references to data or sources.",
        "evidence_lo": "Only {n} figures ({d:.1f} per 100 words) and {s} references to data or sources support the case.",
        "financial_hi": "The financial case is explicit: {m} amounts and {t} cost, benefit or return terms.",
        "financial_lo": "The financial case is thin: {m} amounts and {t} cost, benefit or return terms; return and payback are not shown.",
        "ask_hi": "The ask is specific, with an amount, timing ({dt} date references) and next steps ({ns}).",
        "ask_lo": "The request to the reader is unclear: it needs an amount, a decision date and an owner ({dt} date references, {ns} next-step cues).",
        "risk_hi": "Risks are named ({r}) with concrete mitigations ({m}).",
        "risk_lo": "Risks and mitigations are barely addressed ({r} risk and {m} mitigation cues).",
        "readability_hi": "Sentences are direct (about {a:.0f} words on average) with little hedging or filler.",
        "readability_lo": "Sentences average {a:.0f} words, with {hd} hedges and {fl} filler words weakening the message.",
        "strength_structure": "Leads with the bottom line and groups the support into clear sections.",
        "strength_evidence": "Uses specific figures and sources to support its claims.",
        "strength_financial": "Lays out costs, benefits and return so leaders can judge the investment.",
        "strength_ask": "Makes a specific, time-bound request with next steps.",
        "strength_risk": "Anticipates risks and pairs them with mitigations.",
        "strength_readability": "Reads clearly and concisely.",
        "opp_structure": "Open with a one-paragraph executive summary: the recommendation, the amount and the decision you need (Pyramid Principle).",
        "opp_evidence": "Quantify the problem with a baseline and cite where each key number comes from.",
        "opp_financial": "Add one-time and recurring costs, quantified benefits and a payback or ROI with its assumptions.",
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
        "c_risk": "A risk is named here; make sure each risk has a concrete mitigation.",
        "c_opening": "The opening sets the frame for the whole memo.",
        "q_ask_early": "Does this sentence say exactly what you need, how much and by when?",
        "q_ask_late": "What would change if this request were the first sentence of the memo?",
        "q_ask_late2": "What exactly should the reader approve, and by what date?",
        "q_hedge": "What evidence would let you state this without hedging?",
        "q_vague": "What is the actual number, and what is the baseline you are comparing it with?",
        "q_figures": "Which of these figures matters most to the decision, and is its source clear?",
        "q_money": "Which assumption drives this figure most, and what happens if it is off by half?",
        "q_risk": "What is the early-warning sign for this risk, and who acts on it?",
        "q_opening": "If a leader read only this sentence, would they know what you are asking for?",
        "q_opening2": "How could you state the recommendation here in one sentence?",
        "c_long": "This sentence is long; a busy reader may lose the point.",
        "q_long": "What is the one idea this sentence must carry, and can the rest go?",
        "c_next": "Timing and next steps help leaders see how the work will unfold.",
        "q_next": "Who owns this step, and what will leaders see when it is done?",
        "c_filler": "Filler words here dilute an otherwise useful point.",
        "q_filler": "Which words could you delete without losing any meaning?",
    },
    "es": {
        "structure_hi": "La recomendación aparece al principio y el memorando está organizado en secciones claras{h}.",
        "structure_lo": "La recomendación principal no aparece al principio y el memorando tiene poca estructura visible{h}.",
        "evidence_hi": "Las afirmaciones se apoyan en {n} cifras ({d:.1f} por cada 100 palabras) y {s} referencias a datos o fuentes.",
        "evidence_lo": "Solo {n} cifras ({d:.1f} por cada 100 palabras) y {s} referencias a datos o fuentes respaldan el caso.",
        "financial_hi": "El caso financiero es explícito: {m} importes y {t} términos de coste, beneficio o retorno.",
        "financial_lo": "El caso financiero es débil: {m} importes y {t} términos de coste, beneficio o retorno; no se muestran retorno ni plazo de recuperación.",
        "ask_hi": "La solicitud es concreta, con importe, plazos ({dt} referencias de fecha) y próximos pasos ({ns}).",
        "ask_lo": "No queda claro qué se pide al lector: falta importe, fecha de decisión y responsable ({dt} referencias de fecha, {ns} indicios de próximos pasos).",
        "risk_hi": "Se identifican riesgos ({r}) con medidas de mitigación concretas ({m}).",
        "risk_lo": "Apenas se tratan riesgos y mitigaciones ({r} indicios de riesgo y {m} de mitigación).",
        "readability_hi": "Las frases son directas (unas {a:.0f} palabras de media) y hay pocas vacilaciones o muletillas.",
        "readability_lo": "Las frases tienen una media de {a:.0f} palabras, con {hd} expresiones de duda y {fl} muletillas que debilitan el mensaje.",
        "strength_structure": "Empieza por la conclusión y agrupa los argumentos en secciones claras.",
        "strength_evidence": "Usa cifras y fuentes concretas para respaldar sus afirmaciones.",
        "strength_financial": "Expone costes, beneficios y retorno para que la dirección pueda valorar la inversión.",
        "strength_ask": "Hace una petición concreta, con plazos y próximos pasos.",
        "strength_risk": "Anticipa los riesgos y los acompaña de medidas de mitigación.",
        "strength_readability": "Se lee con claridad y concisión.",
        "opp_structure": "Abra con un resumen ejecutivo de un párrafo: la recomendación, el importe y la decisión que necesita (principio de la pirámide).",
        "opp_evidence": "Cuantifique el problema con una línea de base y cite de dónde sale cada cifra clave.",
        "opp_financial": "Añada costes únicos y recurrentes, beneficios cuantificados y el plazo de recuperación o ROI con sus supuestos.",
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
        "c_risk": "Aquí se menciona un riesgo; asegúrese de que cada riesgo tenga una mitigación concreta.",
        "c_opening": "La apertura marca el tono de todo el memorando.",
        "q_ask_early": "¿Dice esta frase exactamente qué necesita, cuánto y para cuándo?",
        "q_ask_late": "¿Qué cambiaría si esta petición fuera la primera frase del memorando?",
        "q_ask_late2": "¿Qué debe aprobar exactamente el lector y en qué fecha?",
        "q_hedge": "¿Qué evidencia le permitiría afirmar esto sin rodeos?",
        "q_vague": "¿Cuál es la cifra real y con qué línea de base la compara?",
        "q_figures": "¿Cuál de estas cifras importa más para la decisión y está clara su fuente?",
        "q_money": "¿Qué supuesto influye más en esta cifra y qué pasa si se desvía a la mitad?",
        "q_risk": "¿Cuál es la señal de alerta temprana de este riesgo y quién actúa?",
        "q_opening": "Si un directivo leyera solo esta frase, ¿sabría qué le está pidiendo?",
        "q_opening2": "¿Cómo podría formular aquí la recomendación en una sola frase?",
        "c_long": "Esta frase es larga; un lector con prisa puede perder la idea.",
        "q_long": "¿Cuál es la única idea que debe transmitir esta frase y qué sobra?",
        "c_next": "Los plazos y próximos pasos ayudan a la dirección a ver cómo avanzará el proyecto.",
        "q_next": "¿Quién es responsable de este paso y qué verá la dirección cuando termine?",
        "c_filler": "Las muletillas diluyen aquí una idea que sí es útil.",
        "q_filler": "¿Qué palabras podría quitar sin perder significado?",
    },
}


def _t(lang: str, key: str, **kw: Any) -> str:
    table = _T.get(lang, _T["en"])
    return table[key].format(**kw)


def _justification(signal: str, f: Features, high: bool, lang: str) -> str:
    suffix = "hi" if high else "lo"
    h = ""
    if signal == "structure" and f.headings:
        h = f" ({f.headings} headings)" if lang != "es" else f" ({f.headings} encabezados)"
    return _t(
        lang,
        f"{signal}_{suffix}",
        h=h,
        n=f.numbers,
        d=100.0 * f.numbers / max(f.words, 1),
        s=f.counts["source"],
        m=f.money if signal == "financial" else f.counts["mitigation"],
        t=f.counts["finance"],
        dt=f.counts["date"],
        ns=f.counts["next_steps"],
        r=f.counts["risk"],
        a=f.avg_sentence_words,
        hd=f.counts["hedge"],
        fl=f.counts["filler"],
    )


def _signal_for(criterion: Criterion) -> str | None:
    return criterion.offline_signal


def evaluate_offline(text: str, rubric: Rubric, language: str) -> dict[str, Any]:
    """Evaluate a memo deterministically; returns the same structure a provider does."""
    lang = language if language in _T else "en"
    f = extract(text)
    points = {name: fn(f) for name, fn in ANALYSERS.items()}
    generic = sum(points.values()) / len(points)

    rubric_scores = []
    by_signal: dict[str, int] = {}
    midpoint = (rubric.scale.min + rubric.scale.max) / 2
    for criterion in rubric.criteria:
        signal = _signal_for(criterion)
        pts = points[signal] if signal else generic
        score = _to_scale(pts, rubric)
        if signal:
            by_signal[signal] = score
            justification = _justification(signal, f, score > midpoint, lang)
        else:
            justification = {
                "en": "Scored from the memo's overall structure, evidence and clarity.",
                "es": "Puntuado según la estructura, la evidencia y la claridad del memorando.",
            }.get(lang, "Scored from the memo's overall structure, evidence and clarity.")
        rubric_scores.append(
            {"criterion": criterion.name, "score": score, "justification": justification}
        )

    ranked = sorted(by_signal.items(), key=lambda kv: (-kv[1], kv[0]))
    strengths = [_t(lang, f"strength_{sig}") for sig, sc in ranked if sc > midpoint][:4]
    if not strengths:
        strengths = [
            _t(lang, f"strength_{ranked[0][0]}") if ranked else _t(lang, "fallback_strength")
        ]
    opportunities = [
        _t(lang, f"opp_{sig}") for sig, sc in reversed(ranked) if sc < rubric.scale.max
    ][:4]
    if not opportunities:
        opportunities = [_t(lang, "opp_evidence")]

    return {
        "language": language,
        "strengths": strengths,
        "opportunities": opportunities,
        "rubric_scores": rubric_scores,
        "segment_feedback": _segments(f, lang),
    }


def _segments(f: Features, lang: str, limit: int = 7) -> list[dict[str, Any]]:
    chosen: list[dict[str, Any]] = []
    used: set[int] = set()

    def add(span: Span, comment_key: str, *question_keys: str) -> bool:
        if span.start in used or len(chosen) >= limit or len(span.text) < 12:
            return False
        used.add(span.start)
        chosen.append(
            {
                "segment": span.text,
                "comment": _t(lang, comment_key),
                "questions": [_t(lang, q) for q in question_keys],
            }
        )
        return True

    def first(candidates: list[Span], comment_key: str, *question_keys: str) -> None:
        for span in candidates:
            if add(span, comment_key, *question_keys):
                return

    body = [s for s in f.sentences if len(words(s.text)) >= 5]
    if not body:
        return chosen
    cutoff = len(f.text) // 4

    asks = [s for s in body if RECOMMEND.search(s.text)]
    if asks and asks[0].start <= cutoff:
        add(asks[0], "c_ask_early", "q_ask_early")
    elif asks:
        add(asks[0], "c_ask_late", "q_ask_late", "q_ask_late2")
    else:
        add(body[0], "c_opening", "q_opening", "q_opening2")

    first([s for s in body if HEDGE.search(s.text)], "c_hedge", "q_hedge")
    first(
        [s for s in body if VAGUE_QUANTITY.search(s.text) and not NUMBER.search(s.text)],
        "c_vague",
        "q_vague",
    )
    rich = [s for s in body if len(NUMBER.findall(s.text)) >= 3]
    first(
        sorted(rich, key=lambda s: (-len(NUMBER.findall(s.text)), s.start)),
        "c_figures",
        "q_figures",
    )
    first(
        [s for s in body if MONEY.search(s.text) and FINANCE.search(s.text)], "c_money", "q_money"
    )
    first([s for s in body if RISK.search(s.text)], "c_risk", "q_risk")
    first([s for s in body if len(words(s.text)) > 30], "c_long", "q_long")
    first([s for s in body if NEXT_STEPS.search(s.text) or DATE.search(s.text)], "c_next", "q_next")
    first([s for s in body if FILLER.search(s.text)], "c_filler", "q_filler")
    chosen.sort(key=lambda item: f.text.find(item["segment"]))
    return chosen
