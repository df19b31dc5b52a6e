"""Which numbers in a memo are evidence: figures with a unit, a currency or a date.

A bare digit, an identifier (ticket 88213, v3.2.14, room 3B-112, an IP or a
phone number), a list marker or a number inside code is not evidence. A
figure is: 36%, $1.02M, 450.000 €, 65 readmissions, 12 months, May 14,
FY2026, 3x. Each figure gets a key (value and unit) so that repeating one
number does not count as more evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MONTHS = (
    r"january|february|march|april|june|july|august|september|october|november|december"
    r"|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec"
    r"|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre"
    r"|noviembre|diciembre"
)
_MONTH_BEFORE = re.compile(rf"(?:\b(?i:{_MONTHS})|\bMay)\.?\s*$")
_MONTH_AFTER = re.compile(rf"^(?:st|nd|rd|th)?\s*(?:(?:de|of)\s+)?(?:(?i:{_MONTHS})|May)\b")
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*(?::\d+)?(?:/\d+)?")
_RANGE_TAIL = re.compile(r"\s?[-–]\s?(\d+(?:[.,]\d+)*)")
_CURRENCY_BEFORE = re.compile(r"(?:[$€£¥]|\b(?:US\$|USD|EUR|GBP))\s?$")
_CURRENCY_AFTER = re.compile(
    r"^\s?(?:(?:k|m|mm|bn|b|mil|millones|million|billion)\s?[€$£]|[€$£]|k€|m€"
    r"|(?:(?:thousand|million|billion|mil|millones|mil millones)\s)?(?:de\s)?"
    r"(?:euros?|dólares|dollars|usd|eur|pounds|libras)\b)",
    re.IGNORECASE,
)
_MAGNITUDE_AFTER = re.compile(
    r"^(?:\s?(?:k|m|mm|bn)\b|\s(?:thousand|million|billion|mil millones|millones|mil)\b)",
    re.IGNORECASE,
)
_PERCENT_AFTER = re.compile(
    r"^\s?(?:%|‰|percent\b|per cent\b|por ciento\b|percentage points?\b|puntos porcentuales\b"
    r"|pp\b|points?\b|puntos\b)",
    re.IGNORECASE,
)
_MULTIPLE_AFTER = re.compile(r"^(?:\s?[x×]\b|-fold\b|\s(?:times|veces)\b)", re.IGNORECASE)
_PERIODS = (
    r"seconds?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?|quarters?|shifts?"
    r"|segundos?|minutos?|horas?|días?|semanas?|meses|mes|años?|trimestres?|turnos?"
)
PERIOD_WORD = re.compile(rf"^(?:{_PERIODS})$", re.IGNORECASE)
# Words that label an identifier rather than count something ("room 4", "page 33").
_LABEL_BEFORE = re.compile(
    r"(?i)(?:#|\b(?:no|nº|n\.º|num|nr|id|ids|ref|refs|ticket|tickets|code|codes|código|códigos"
    r"|pin|version|versión|versiones|ver|v|rev|release|build|compilación|line|línea|page|pages"
    r"|página|páginas|p|pp|room|sala|despacho|ext|extension|extensión|item|items|punto|puntos"
    r"|row|fila|column|columna|port|puerto|ip|step|paso|phase|fase|wave|oleada|bed|cama|floor"
    r"|piso|ward|figure|figura|fig|table|tabla|section|sección|annex|anexo|appendix|option"
    r"|opción|update|actualización|expediente|incidencia|document|documento|doc|tier|level"
    r"|levels|nivel|niveles|grade|grado|stage|exhibit|slide|box|lote|batch|model|modelo"
    r"|tel|phone|teléfono|móvil|fax|call|llamarme|al|route|ruta|zip|cp)\.?)\s*$"
)
_DATE_LABEL_BEFORE = re.compile(
    r"(?i)\b(?:day|week|month|year|quarter|día|semana|mes|año|trimestre|ejercicio|fiscal"
    r"|in|by|since|until|from|to|during|before|after|of|en|desde|hasta|del|de|el|antes|después"
    r"|durante|para)\s*$"
)
_TIMELINE_BEFORE = re.compile(
    r"(?i)\b(?:day|week|month|year|quarter|día|semana|mes|año|trimestre)\s*$"
)
_DATE_PREFIX = re.compile(r"(?:^|[^\w])(FY|CY|Q|H|T)$")
_LIST_MARKER = re.compile(r"(?m)^[ \t>*+-]*$")
_ALLOWED_SUFFIX = re.compile(
    r"^(?:k|m|mm|bn|b|x|st|nd|rd|th|h|am|pm|s|lb|lbs|kg|g|km|mg|ml|cm|mmhg|min|t|d|mo|wk|yr|er"
    r"|º|ª|°|m²|m³)$",
    re.IGNORECASE,
)
_SOURCE_NOUN = re.compile(
    r"^(?:annual|report|study|survey|audit|data|census|registry|benchmark|review|results"
    r"|informe|estudio|encuesta|auditoría|datos|memoria|registro|resultados)",
)
_NEXT_WORD = re.compile(r"^[\s(]*(?:[-–]\s?)?([^\W\d_][\w'’-]*)")
_STOPWORDS = frozenset([
    "a", "an", "and", "or", "of", "to", "the", "in", "on", "at", "for", "by", "with", "from",
    "than", "as", "is", "are", "was", "were", "be", "been", "being", "will", "would", "can",
    "could", "may", "might", "should", "shall", "must", "do", "does", "did", "apply", "applies",
    "out", "if", "but", "so", "that", "this", "these", "those", "it", "its", "we", "i", "you",
    "he", "she", "they", "them", "our", "their", "more", "less", "then", "also", "vs", "versus",
    "ext", "extension", "into", "over", "under", "about", "around", "per", "each", "every",
    "de", "del", "y", "e", "o", "u", "en", "el", "la", "los", "las", "lo", "un", "una", "unos",
    "unas", "por", "para", "con", "que", "es", "son", "se", "más", "menos", "como", "si", "pero",
    "también", "aplican", "aplica", "está", "están", "hay", "al", "le", "les", "su", "sus",
    "este", "esta", "estos", "estas", "frente", "sobre", "entre", "sin", "extensión", "ya", "no",
    "ni",
])  # fmt: skip
_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|eighteen|twenty"
    r"|thirty|a|an|uno|una|un|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|once|doce"
    r"|quince|dieciocho|veinte|veinticuatro|treinta|first|second|third|primer|primero|segundo"
    r"|tercer|tercero|half|medio|next|próximo"
)
# "three years", "el primer año", "within a year": a period written in words.
PERIOD_IN_WORDS = re.compile(rf"(?i)\b(?:{_NUMBER_WORDS})(?:[\s-]+(?:and a half|y medio))?[\s-]+"
                             rf"(?:{_PERIODS})\b")  # fmt: skip
RATIO = re.compile(r"(?i)\b\d+(?:[.,]\d+)?\s?(?:to|a|:)\s?1\b|\b\d+(?:[.,]\d+)?\s?(?:x|×)(?!\w)")


@dataclass(frozen=True)
class Figure:
    start: int
    end: int
    kind: str  # money, percent, multiple, date, period, count
    key: tuple[str, str]


def _normal(value: str) -> str:
    return value.replace(",", "").replace(".", "").lstrip("0") or "0"


def _is_version(token: str) -> bool:
    # 1.450.000 and 1,450,000 are thousands; 3.2.14 and 10.0.4.27 are versions or addresses.
    for sep in ".,":
        parts = token.split(sep)
        if len(parts) >= 3:
            return not (len(parts[0]) <= 3 and all(len(p) == 3 for p in parts[1:]))
    return False


def classify(text: str, start: int, end: int) -> Figure | None:
    """The figure at text[start:end] (a digit token), or None when it carries no meaning."""
    token = text[start:end]
    before = text[max(0, start - 24) : start]
    prev = text[start - 1] if start else " "
    line_start = text.rfind("\n", 0, start) + 1
    prefix = _DATE_PREFIX.search(before)
    if prefix and len(token) <= 4:
        return Figure(start, end, "date", (_normal(token), prefix.group(1).lower()))
    if prev.isalpha() or prev in "_=#@\\/&:":
        return None
    if prev in "-–" and start >= 2 and text[start - 2].isalnum():
        return None  # COVID-19, A-1234 (a range's second half is read with its first)
    if "/" in token or _is_version(token):
        return None
    if ":" in token and not re.match(r"^\s?(?:am|pm|h)\b", text[end : end + 4], re.I):
        return None
    if _LIST_MARKER.match(text[line_start:start]) and re.match(r"^[.)]\s", text[end : end + 2]):
        return None  # "1. Low adherence" numbers a list item
    tail = _RANGE_TAIL.match(text, end)
    stop = tail.end() if tail and text[tail.end() : tail.end() + 1] != "-" else end
    after = text[stop : stop + 40]
    suffix = re.match(r"^[^\W\d_]+", after)
    currency = bool(_CURRENCY_BEFORE.search(before) or _CURRENCY_AFTER.match(after))
    odd_suffix = suffix and not _ALLOWED_SUFFIX.match(suffix.group(0))
    if odd_suffix and not currency and not _MONTH_AFTER.match(after):
        return None  # 123abc, 5A
    value = _normal(token)
    if currency:
        magnitude = _MAGNITUDE_AFTER.match(after)
        unit = magnitude.group(0).strip().lower()[:1] if magnitude else ""
        return Figure(start, stop, "money", (value + unit, "money"))
    digits = token.replace(",", "").replace(".", "")
    if len(digits) >= 5 and token.isdigit():
        return None  # unformatted long numbers are codes, IDs or phone numbers
    if _PERCENT_AFTER.match(after):
        return Figure(start, stop, "percent", (value, "%"))
    if _MULTIPLE_AFTER.match(after):
        return Figure(start, stop, "multiple", (value, "x"))
    if _MONTH_BEFORE.search(before) or _MONTH_AFTER.match(after):
        return Figure(start, stop, "date", (value, "date"))
    if _TIMELINE_BEFORE.search(before):
        return Figure(start, stop, "date", (value, "timeline"))  # "month 6", "year 2"
    if _LABEL_BEFORE.search(before):
        return None
    year = token.isdigit() and len(token) == 4 and 1950 <= int(token) <= 2099
    if year and (_DATE_LABEL_BEFORE.search(before) or after.startswith((")", "]"))):
        return Figure(start, stop, "date", (value, "year"))  # "in 2024", "(Journal, 2023)"
    word = _NEXT_WORD.match(after)
    if word is None:
        return None
    noun = word.group(1).lower().strip("'’-")
    if PERIOD_WORD.match(noun):
        return Figure(start, stop, "period", (value, noun.rstrip("s")[:4]))
    if _MAGNITUDE_AFTER.match(after):
        return Figure(start, stop, "count", (value + noun[:1], "magnitude"))
    if year and _SOURCE_NOUN.match(noun):
        return Figure(start, stop, "date", (value, "year"))  # "the 2024 annual report"
    if noun in _STOPWORDS or len(noun) < 2 or year:
        return None
    return Figure(start, stop, "count", (value, noun[:5]))


def figures(text: str) -> tuple[list[Figure], int]:
    """Meaningful figures in text, and how many digit tokens were rejected."""
    found: list[Figure] = []
    rejected = 0
    skip_until = -1
    for match in _TOKEN.finditer(text):
        if match.start() < skip_until:
            continue  # the second half of a range already read
        figure = classify(text, match.start(), match.end())
        if figure is None:
            rejected += 1
            continue
        found.append(figure)
        skip_until = figure.end
    return found, rejected


def has_quantity(text: str) -> bool:
    """A figure, a ratio or a period in words: enough to quantify a return or a deadline."""
    return bool(figures(text)[0] or RATIO.search(text) or PERIOD_IN_WORDS.search(text))
