"""Deterministic language detection from function words (no network, no model)."""

from __future__ import annotations

from collections import Counter

from memoai.evaluation.text import words

_STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        [
            "the",
            "and",
            "of",
            "to",
            "in",
            "is",
            "that",
            "for",
            "it",
            "with",
            "as",
            "was",
            "on",
            "be",
            "by",
            "this",
            "are",
            "we",
            "our",
            "at",
            "from",
            "have",
            "an",
            "or",
            "will",
            "would",
            "which",
            "their",
            "they",
            "not",
            "but",
            "can",
            "has",
            "been",
            "should",
        ]
    ),
    "es": frozenset(
        [
            "el",
            "la",
            "los",
            "las",
            "de",
            "del",
            "que",
            "y",
            "en",
            "un",
            "una",
            "es",
            "por",
            "con",
            "para",
            "se",
            "no",
            "al",
            "lo",
            "como",
            "más",
            "pero",
            "sus",
            "su",
            "nuestro",
            "nuestra",
            "nuestros",
            "este",
            "esta",
            "son",
            "está",
            "han",
            "ha",
            "muy",
            "también",
        ]
    ),
    "fr": frozenset(
        [
            "le",
            "la",
            "les",
            "de",
            "des",
            "du",
            "et",
            "en",
            "un",
            "une",
            "est",
            "que",
            "pour",
            "dans",
            "qui",
            "pas",
            "sur",
            "au",
            "aux",
            "avec",
            "ce",
            "cette",
            "nous",
            "vous",
            "sont",
            "été",
            "être",
            "par",
            "plus",
        ]
    ),
    "de": frozenset(
        [
            "der",
            "die",
            "das",
            "und",
            "ist",
            "nicht",
            "ein",
            "eine",
            "zu",
            "den",
            "von",
            "mit",
            "sich",
            "des",
            "auf",
            "für",
            "im",
            "dem",
            "wir",
            "sie",
            "es",
            "auch",
            "werden",
            "wird",
            "sind",
        ]
    ),
    "pt": frozenset(
        [
            "o",
            "a",
            "os",
            "as",
            "de",
            "do",
            "da",
            "dos",
            "das",
            "e",
            "em",
            "um",
            "uma",
            "que",
            "para",
            "com",
            "não",
            "por",
            "mais",
            "se",
            "na",
            "no",
            "nos",
            "ao",
            "são",
            "foi",
            "também",
            "está",
            "nossa",
            "nosso",
        ]
    ),
    "it": frozenset(
        [
            "il",
            "lo",
            "la",
            "gli",
            "le",
            "di",
            "del",
            "della",
            "e",
            "è",
            "che",
            "per",
            "in",
            "un",
            "una",
            "non",
            "con",
            "sono",
            "più",
            "anche",
            "nel",
            "nella",
            "questo",
            "questa",
            "siamo",
        ]
    ),
}

LANGUAGE_NAMES = {
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "de": "German",
    "pt": "Portuguese",
    "it": "Italian",
}


# Each stop word and the languages it belongs to: one lookup per word of the
# memo, not one per word and language (this runs in every submit).
def _languages_of() -> dict[str, tuple[str, ...]]:
    index: dict[str, tuple[str, ...]] = {}
    for lang, stops in _STOPWORDS.items():
        for word in stops:
            index[word] = (*index.get(word, ()), lang)
    return index


_LANGUAGES_OF = _languages_of()


def detect_language(text: str, default: str = "en") -> tuple[str, float]:
    """Return (ISO 639-1 code, confidence 0..1) for the memo."""
    tokens = words(text.lower())  # one lower() for the text, not one per word
    if not tokens:
        return default, 0.0
    counts: Counter[str] = Counter()
    languages_of = _LANGUAGES_OF
    for token in tokens:
        found = languages_of.get(token)
        if found:
            counts.update(found)
    if not counts:
        return default, 0.0
    (best, best_n), *rest = counts.most_common()
    runner_up = rest[0][1] if rest else 0
    confidence = (best_n - runner_up) / max(best_n, 1)
    # Very short texts give little evidence; scale confidence by sample size.
    confidence *= min(1.0, best_n / 10)
    return best, round(confidence, 3)


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)
