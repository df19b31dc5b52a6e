"""What the offline evaluator measures in a memo, in English and Spanish.

Everything is measured on prose only: markup and code are blanked first
(`offline_markup`), and a sentence counts only if it reads as a sentence, not
as a list of rubric keywords, a repetition or a line of bare numbers. Cues are
counted once per kind and per sentence, so repeating a keyword adds nothing.

One module on purpose: the signals share the sentence model and the cue
tables of both languages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from memoai.evaluation.offline_markup import mask_markup
from memoai.evaluation.offline_numbers import Figure, figures, has_quantity
from memoai.evaluation.text import Span, paragraphs, sentences, words


def _terms(*items: str) -> re.Pattern[str]:
    # Not after a hyphen either: "high-risk patients" names no risk.
    return re.compile(r"(?i)(?<![\w-])(?:" + "|".join(items) + r")(?![\w])")


ASK = _terms(
    r"recommend\w*", r"request\w*", r"propos\w*", r"approv\w*", r"seek\w*", r"the ask",
    r"(?:i|we) (?:am |are )?ask\w*", r"ask (?:you|the (?:committee|board))",
    r"asks? for (?:approval|funding|a decision|[$€£]|\d)", r"authori[sz]\w*", r"fund",
    r"i need (?:your|a) (?:decision|approval)", r"recomiend\w*", r"recomend\w*", r"solicit\w*",
    r"propon\w*", r"propong\w*", r"propuesta", r"aprob\w*", r"aprueb\w*", r"autori[cz]\w*",
    r"pedimos", r"pido", r"les pido", r"necesit\w* (?:la|su) (?:decisión|aprobación)",
)  # fmt: skip
VAGUE_ASK = _terms(
    r"would like", r"we should", r"consider\w*", r"explore", r"look into", r"support",
    r"it would be good", r"let me know", r"happy to", r"start planning", r"move forward",
    r"nos gustaría", r"me gustaría", r"valor\w*", r"estudi[ea]", r"apoyo", r"sería bueno",
    r"ya me decís", r"tenga en cuenta", r"si le parece",
)  # fmt: skip
SUMMARY = _terms(
    r"executive summary", r"bottom line", r"summary", r"in short", r"in summary",
    r"recommendation", r"resumen ejecutivo", r"resumen", r"en resumen", r"en síntesis",
    r"recomendación", r"conclusión",
)  # fmt: skip
SOURCE = _terms(
    r"according to", r"stud(?:y|ies)", r"pilot\w*", r"trial", r"benchmark\w*", r"baseline",
    r"registry", r"report(?:ed|s)?", r"survey", r"published", r"source", r"audit", r"census",
    r"data", r"database", r"peer (?:hospitals?|group)", r"comparable programs?", r"last year",
    r"last (?:fiscal )?(?:quarter|month)", r"literature", r"según", r"estudio\w*", r"piloto",
    r"ensayo", r"datos", r"informe\w*", r"encuesta\w*", r"registro", r"auditoría", r"memoria",
    r"referencia\w*", r"el año pasado", r"publicad[oa]", r"cuadro de mando",
)  # fmt: skip
COMPARISON = _terms(
    r"from [$€£]?\d[^.;]{0,20} to [$€£]?\d", r"compared (?:with|to)", r"against", r"versus",
    r"vs\.?",
    r"benchmark\w*", r"baseline", r"up from", r"down from", r"median", r"average",
    r"del? \d[^.;]{0,12} al? \d", r"frente al?", r"comparad[oa] con", r"respecto a",
    r"media", r"mediana", r"objetivo",
)  # fmt: skip
COST = _terms(
    r"costs?", r"costing", r"budget\w*", r"capital", r"operating", r"one-time", r"upfront",
    r"spend\w*", r"spent", r"price\w*", r"fees?", r"licen[cs]e", r"invest\w*", r"capex",
    r"opex", r"fte", r"coste\w*", r"costo\w*", r"presupuest\w*", r"inversión", r"invertir",
    r"gasto\w*", r"precio", r"licencia\w*", r"cuesta", r"cuestan", r"equipment", r"hardware",
    r"software", r"build-?out", r"construction", r"kits?", r"equipo\w*", r"obra",
)  # fmt: skip
BENEFIT = _terms(
    r"savings?", r"saves?", r"saving", r"revenue", r"reimburse\w*", r"net benefit",
    r"benefits?", r"avoid\w*", r"cost avoidance", r"margin", r"incentive", r"recover\w*",
    r"releas\w*", r"frees?", r"ahorr\w*", r"ingresos?", r"beneficio\w*", r"evit\w*",
    r"margen", r"incentivo", r"liber\w*", r"factur\w*",
)  # fmt: skip
RETURN = {
    "payback": _terms(
        r"payback",
        r"pays? (?:itself )?back",
        r"paying (?:\w+ ){0,3}back",
        r"paid back",
        r"pays? for itself",
        r"paid (?:for|off)",
        r"recoup\w*",
        r"recover(?:s|ed)? (?:the|its|our) (?:investment|cost)",
        r"cover(?:s|ing)? (?:its|their) (?:own )?costs?",
    ),
    "roi": _terms(r"roi", r"return on (?:the )?investment", r"returns? (?:of|\$|€)"),
    "npv": _terms(r"npv", r"net present value"),
    "irr": _terms(r"irr", r"internal rate of return"),
    "break_even": _terms(r"break(?:s|ing)?[ -]?even", r"breakeven"),
    "amortización": _terms(
        r"se amortiza\w*",
        r"amortiz\w*",
        r"se recuper\w*",
        r"recuper\w* la inversión",
        r"plazo de recuperación",
        r"se paga sol[oa]",
        r"cubr\w+ (?:su|sus) (?:propio )?costes?",
    ),
    "retorno": _terms(r"retorno de la inversión", r"retorno", r"rentabilidad"),
    "van": re.compile(r"(?<![\w])(?:VAN|valor actual neto)(?![\w])"),
    "tir": re.compile(r"(?i)(?<![\w])(?:TIR|tasa interna de retorno)(?![\w])"),
    "equilibrio": _terms(r"punto de equilibrio", r"no genera pérdidas"),
}
ASSUMPTION = _terms(
    r"assum\w*", r"sensitivity", r"conservative\w*", r"if only", r"even if", r"worst case",
    r"scenario\w*", r"if we (?:recover|add|avoid|achieve) only", r"supuesto\w*", r"sensibilidad",
    r"escenario\w*", r"conservador\w*", r"si solo", r"aunque solo", r"en el peor caso",
    r"we count only", r"contamos solo", r"if [^.;]{0,60}only", r"with only", r"con solo",
    r"even (?:if|with)", r"incluso (?:si|con)",
)  # fmt: skip
FUNDING = _terms(
    r"funded (?:from|by)", r"from the [\w\s]{0,30}budget", r"capital plan", r"operating budget",
    r"con cargo a[l]?", r"del presupuesto", r"plan de inversiones", r"presupuesto de",
)  # fmt: skip
OWNER = _terms(
    r"owner", r"owns (?:the|delivery)", r"will own", r"sponsor", r"responsible for",
    r"accountable", r"will lead", r"led by",
    r"i will (?:own|lead)", r"responsable", r"lidera\w*", r"al frente", r"patrocinador\w*",
)  # fmt: skip
NEXT_STEPS = _terms(
    r"next steps?", r"implementation", r"timeline", r"milestones?", r"go-live", r"roll ?out",
    r"kpis?", r"stage[- ]gate", r"report(?:ing)? (?:back|to|monthly|quarterly)", r"review at",
    r"plan de implantación", r"próximos pasos", r"cronograma", r"calendario", r"hitos?",
    r"indicadores?", r"informe (?:trimestral|semestral|mensual|al)", r"informaremos",
    r"informaré", r"despliegue", r"puesta en marcha",
)  # fmt: skip
# Headings whose section is the plan: its dated lines are next steps.
PLAN_HEADING = _terms(
    r"next steps?", r"implementation", r"timeline", r"plan", r"roadmap", r"milestones?",
    r"próximos pasos", r"plan de implantación", r"cronograma", r"calendario", r"hitos?",
)  # fmt: skip
# "Owner: Dr. Amy Chen" – a labelled field with a value, not a keyword in a list.
OWNER_FIELD = re.compile(
    r"(?im)^[\W_]*(?:owner|sponsor|lead|responsable|patrocinador)[\W_]*:[ \t]*[A-ZÁÉÍÓÚÑ]"
)
RISK = _terms(
    r"risks?", r"downside", r"concerns?", r"challenges?", r"threats?", r"could fail",
    r"may not", r"might not", r"if [^.;]{3,40} fails?", r"resistance", r"delays?",
    r"riesgos?", r"amenazas?", r"inconvenientes?", r"dificultad\w*", r"retrasos?",
    r"resistencia", r"problemas?",
)  # fmt: skip
MITIGATION = _terms(
    r"mitigat\w*", r"contingenc\w*", r"fallback", r"backup", r"safeguards?", r"we will stop",
    r"we stop", r"cap\w* (?:spending|at)", r"a cap of", r"thresholds?", r"review\w* (?:at|each|"
    r"monthly|weekly|quarterly)", r"stage[- ]gate", r"exit", r"fixed[- ]price", r"penalt\w*",
    r"hold back", r"escalat\w*", r"we will (?:pause|cut|close|keep|use|set|select|review|track)",
    r"mitiga\w*", r"medidas?", r"cláusula", r"auditoría", r"revisar\w*", r"salvaguarda\w*",
    r"plan de contingencia", r"respaldo", r"penalizaci\w*", r"exigimos", r"umbral\w*",
    r"volveremos", r"ajustaremos", r"detendremos", r"pausaremos", r"to (?:limit|reduce|prevent) "
    r"(?:this|it|that)", r"para (?:reducirlo|evitarlo|limitarlo|evitar|limitar)",
)  # fmt: skip
EXIT = _terms(
    r"we (?:will )?stop", r"exit", r"fallback", r"back-?up", r"pause", r"stage[- ]gate",
    r"close it", r"return the", r"cap spending", r"cláusula de salida", r"respaldo",
    r"volveremos", r"detendremos", r"pausaremos", r"cerraremos", r"paramos",
)  # fmt: skip
ALTERNATIVE = _terms(
    r"alternatives?", r"options? (?:[A-D1-4]\b|considered)", r"rather than", r"instead of",
    r"do nothing", r"defer\w*", r"alternativas?", r"opci[oó]n [A-D1-4]\b",
    r"opciones (?:consideradas|valoradas)", r"en lugar de", r"en vez de", r"no hacer nada",
)  # fmt: skip
UPFRONT = _terms(
    r"one-time", r"one off", r"upfront", r"up-front", r"capital", r"initial", r"set-?up",
    r"inversión", r"inicial", r"única", r"obra", r"equipamiento",
)  # fmt: skip
RECURRING = _terms(
    r"annual\w*", r"a year", r"per year", r"each year", r"every year", r"recurring", r"operating",
    r"running", r"a month", r"per month", r"monthly", r"al año", r"anual\w*", r"cada año",
    r"recurrente\w*", r"operativo", r"mensual\w*", r"al mes",
)  # fmt: skip
# A date or deadline written without digits: "in June", "next quarter", "este ejercicio".
DATE_WORD = re.compile(
    r"\b(?:January|February|March|April|May|June|July|August|September|October|November"
    r"|December|Q[1-4]|FY\s?\d{2,4})\b|(?i:\b(?:enero|febrero|marzo|abril|mayo|junio|julio"
    r"|agosto|septiembre|setiembre|octubre|noviembre|diciembre|next quarter|this fiscal year"
    r"|próximo trimestre|este ejercicio|by the end of|within (?:a|one|two|three|\d+) (?:days?"
    r"|weeks?|months?)|en (?:un plazo de |los próximos )?\d+ (?:días|semanas))\b)"
)
HEDGE = _terms(
    r"i think", r"i feel", r"i believe", r"maybe", r"perhaps", r"probably", r"hopefully",
    r"kind of", r"sort of", r"i'?m not sure", r"not sure", r"i guess", r"might", r"seems?",
    r"we believe", r"creo que", r"me parece", r"quizás?", r"tal vez", r"a lo mejor",
    r"igual se", r"igual", r"no sé", r"supongo", r"no lo tengo (?:muy )?claro",
    r"probablemente", r"no tengo muy claro", r"creemos que", r"me imagino",
)  # fmt: skip
FILLER = _terms(
    r"very", r"really", r"basically", r"honestly", r"a lot", r"lots of", r"things?",
    r"anyway", r"just", r"stuff", r"muy", r"realmente", r"básicamente", r"la verdad",
    r"mucho", r"muchas? veces", r"cosas?", r"bastante", r"o algo así",
)  # fmt: skip
VAGUE_QUANTITY = _terms(
    r"a lot", r"many", r"some", r"several", r"a few", r"significant\w*", r"various",
    r"mucho\w*", r"muchas", r"alguno?s?", r"algunas", r"varios", r"varias", r"bastante",
)  # fmt: skip
INFORMAL = _terms(
    r"hi all", r"hi everyone", r"hi team", r"hi", r"hello", r"hey", r"thanks", r"best regards",
    r"cheers", r"let me know", r"buenos días", r"buenas tardes", r"un saludo", r"hola",
    r"gracias", r"saludos", r"ya me decís",
)  # fmt: skip
_HEADER_FIELD = re.compile(
    r"(?i)^\W*(?:to|from|cc|date|subject|re|para|de|asunto|fecha|decision needed by)\W*:"
)
_SUBJECT = re.compile(r"(?i)^\W*(?:subject|re|asunto)\W*:")
_HEADING_TEXT = re.compile(r"^[A-ZÁÉÍÓÚÑ0-9¿][^\n.!?,;]{1,70}$")
# Every rubric cue: a sentence made mostly of these is a keyword list, not prose.
_KEYWORDS = [SUMMARY, SOURCE, COST, BENEFIT, ASSUMPTION, NEXT_STEPS, RISK, MITIGATION, OWNER,
             ASK, ALTERNATIVE, *RETURN.values()]  # fmt: skip


@dataclass(frozen=True)
class Sentence:
    span: Span  # offsets into the memo; text as masked
    words: int
    figures: tuple[Figure, ...]
    section: str  # the heading above it, lower-cased ("" when none)
    quotable: bool  # the memo's own text here holds no markup


@dataclass(frozen=True)
class Heading:
    text: str
    start: int


@dataclass
class Features:
    text: str  # the memo as submitted
    clean: str  # the memo with markup blanked (same offsets)
    prose: list[Sentence]
    headings: list[Heading]
    paragraphs: int
    prose_words: int
    figures: list[Figure] = field(default_factory=list)
    rejected_numbers: int = 0  # digit tokens in prose that carry no meaning
    masked_numbers: int = 0  # digit tokens inside markup, code or links
    ignored_sentences: int = 0  # keyword lists, repetitions, number lines
    subject: Sentence | None = None

    def distinct_figures(self) -> int:
        return len({f.key for f in self.figures})

    def per100(self, pattern: re.Pattern[str]) -> float:
        hits = sum(len(pattern.findall(s.span.text)) for s in self.prose)
        return 100.0 * hits / max(self.prose_words, 1)

    def with_cue(self, pattern: re.Pattern[str]) -> list[Sentence]:
        return [s for s in self.prose if pattern.search(s.span.text)]

    def in_section(self, pattern: re.Pattern[str]) -> list[Sentence]:
        return [s for s in self.prose if s.section and pattern.search(s.section)]

    def opening(self) -> list[Sentence]:
        """The subject line and the first prose of the memo (about its first quarter)."""
        limit = max(60, self.prose_words // 4)
        chosen: list[Sentence] = [self.subject] if self.subject else []
        seen = 0
        for s in self.prose:
            if seen >= limit and len(chosen) >= 2:
                break
            chosen.append(s)
            seen += s.words
        return chosen


_FUNCTION_WORDS = frozenset([
    "the", "and", "for", "with", "our", "are", "was", "has", "have", "this", "that", "its",
    "los", "las", "del", "por", "para", "con", "una", "que",
])  # fmt: skip


def rubric_keywords(names: list[str]) -> frozenset[str]:
    """Content words of the rubric's criterion names ("Evidence and Data" → evidence, data)."""
    return frozenset(
        w for name in names for w in words(name.lower()) if len(w) >= 3 and w not in _FUNCTION_WORDS
    )


def is_keyword_list(text: str, n_words: int, keywords: frozenset[str] = frozenset()) -> bool:
    """A run of rubric keywords or one word repeated: stuffing, not a sentence."""
    if n_words == 0:
        return False
    hits = sum(len(p.findall(text)) for p in _KEYWORDS)
    if n_words >= 2 and hits / n_words >= 0.34:
        return True
    content = [w for w in words(text.lower()) if len(w) >= 3 and w not in _FUNCTION_WORDS]
    if keywords and len(content) >= 2 and sum(w in keywords for w in content) >= 0.6 * len(content):
        return True  # the rubric's own criterion names recited back
    counts: dict[str, int] = {}
    for w in content:
        counts[w] = counts.get(w, 0) + 1
    return any(c >= 3 for c in counts.values())


def _headings(clean: str) -> list[Heading]:
    lines = clean.splitlines(keepends=True)
    offsets = []
    pos = 0
    for line in lines:
        offsets.append(pos)
        pos += len(line)
    found: list[Heading] = []
    seen: set[str] = set()
    for i, line in enumerate(lines):
        text = line.strip().strip("#*_ \t").rstrip(":").strip("*_ ")
        if not _HEADING_TEXT.match(text) or len(words(text)) > 7 or _HEADER_FIELD.match(text):
            continue
        if INFORMAL.search(text) or (":" in text and not line.lstrip().startswith("#")):
            continue
        # A heading introduces content; a name or sign-off at the end introduces nothing.
        following = next((ln for ln in lines[i + 1 :] if ln.strip()), "")
        if len(words(following)) < 4:
            continue
        key = " ".join(words(text.lower()))
        if key in seen:
            continue
        seen.add(key)
        found.append(Heading(text, offsets[i]))
    return found


def _paragraphs(clean: str) -> int:
    """Blocks of real text; one line per paragraph when there are no blank lines (HTML)."""
    blocks = sum(1 for p in paragraphs(clean) if len(words(p.text)) >= 12)
    if blocks <= 1:
        blocks = max(blocks, sum(1 for line in clean.splitlines() if len(words(line)) >= 12))
    return blocks


# A sentence that lists many figures counts as at most this many pieces of evidence.
MAX_FIGURES_PER_SENTENCE = 5


def _capped(found: tuple[Figure, ...]) -> list[Figure]:
    kept: list[Figure] = []
    keys: set[tuple[str, str]] = set()
    for fig in found:
        if fig.key not in keys and len(keys) >= MAX_FIGURES_PER_SENTENCE:
            continue
        keys.add(fig.key)
        kept.append(fig)
    return kept


def extract(text: str, keywords: frozenset[str] = frozenset()) -> Features:
    clean = mask_markup(text)
    headings = _headings(clean)
    heading_lines = {h.start for h in headings}
    prose: list[Sentence] = []
    all_figures: list[Figure] = []
    rejected = ignored = 0
    seen: set[str] = set()
    subject: Sentence | None = None
    section = ""
    next_heading = 0
    for span in sentences(clean):
        while next_heading < len(headings) and headings[next_heading].start <= span.start:
            section = headings[next_heading].text.lower()
            next_heading += 1
        if clean.rfind("\n", 0, span.start) + 1 in heading_lines:
            continue  # sentences never cross a line break, so this span is the heading
        found, bad = figures(span.text)
        n_words = len(words(span.text))
        sentence = Sentence(
            span=span,
            words=n_words,
            figures=tuple(
                Figure(f.start + span.start, f.end + span.start, f.kind, f.key) for f in found
            ),
            section=section,
            quotable=text[span.start : span.end] == span.text,
        )
        if _HEADER_FIELD.match(span.text):
            if _SUBJECT.match(span.text) and not is_keyword_list(span.text, n_words, keywords):
                subject = sentence
            continue
        letters = sum(ch.isalpha() for ch in span.text)
        visible = sum(not ch.isspace() for ch in span.text)
        key = " ".join(words(span.text.lower()))
        # Short budget lines ("- Training: $280K") are data; other short fragments are not.
        wordy = n_words >= 4 and letters >= 0.55 * visible
        short_data = found and 2 <= n_words <= 6 and letters >= 0.35 * visible
        if not wordy and not short_data:
            rejected += bad
            if n_words >= 4 or bad > 2:
                ignored += 1  # a line of bare numbers
            continue
        if key in seen or is_keyword_list(span.text, n_words, keywords):
            ignored += 1
            continue
        seen.add(key)
        prose.append(sentence)
        all_figures.extend(_capped(sentence.figures))
        rejected += bad
    masked = len(re.findall(r"\d+", text)) - len(re.findall(r"\d+", clean))
    return Features(
        text=text,
        clean=clean,
        prose=prose,
        headings=headings,
        paragraphs=_paragraphs(clean),
        prose_words=sum(s.words for s in prose),
        figures=all_figures,
        rejected_numbers=rejected,
        masked_numbers=max(0, masked),
        ignored_sentences=ignored,
        subject=subject,
    )


def quantified(sentence: Sentence) -> bool:
    return bool(sentence.figures) or has_quantity(sentence.span.text)


def money(sentence: Sentence) -> bool:
    return any(f.kind == "money" for f in sentence.figures)


def return_kinds(text: str) -> list[str]:
    """Which ways of stating a return appear in text (payback, roi, amortización, …)."""
    return [kind for kind, pattern in RETURN.items() if pattern.search(text)]
