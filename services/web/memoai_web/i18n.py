"""Interface strings in English and Spanish, and the choice of language per request.

One flat catalogue per language (``locales/<lang>.json``) feeds both the
server-rendered template and the browser modules, so a string is written once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

Language = Literal["en", "es"]
LANGUAGES: tuple[Language, ...] = ("en", "es")
DEFAULT: Language = "en"
LANG_COOKIE = "memoai_lang"
_LOCALES = Path(__file__).parent / "locales"


@dataclass(frozen=True)
class Catalogue:
    lang: Language
    strings: dict[str, str]

    def __call__(self, key: str, **values: object) -> str:
        """The string for `key` with `{name}` placeholders filled; the key itself if missing."""
        text = self.strings.get(key, key)
        return text.format(**values) if values else text

    def plural(self, key: str, count: int, **values: object) -> str:
        """`key.one` or `key.other` for `count`, as the browser's Intl.PluralRules picks
        for whole numbers in English and Spanish (Spanish "many" falls back to other)."""
        form = "one" if count == 1 else "other"
        chosen = f"{key}.{form}" if f"{key}.{form}" in self.strings else f"{key}.other"
        return self(chosen, count=format_int(count, self.lang), **values)


@lru_cache(maxsize=len(LANGUAGES))
def catalogue(lang: Language) -> Catalogue:
    strings = json.loads((_LOCALES / f"{lang}.json").read_text(encoding="utf-8"))
    return Catalogue(lang, strings)


def _supported(tag: str) -> Language | None:
    primary = tag.strip().split("-", 1)[0].split("_", 1)[0].lower()
    for lang in LANGUAGES:
        if primary == lang:
            return lang
    return None


def from_accept_language(header: str | None) -> Language | None:
    """The supported language the browser prefers most (RFC 9110 quality values)."""
    if not header:
        return None
    ranked: list[tuple[float, int, Language]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        lang = _supported(tag)
        if lang and quality > 0:
            ranked.append((-quality, position, lang))
    return min(ranked)[2] if ranked else None


def negotiate(configured: str, cookie: str | None, accept_language: str | None) -> Language:
    """The user's own choice (cookie) first, then the configured language, then the browser's."""
    chosen = _supported(cookie) if cookie else None
    if chosen:
        return chosen
    if configured != "auto":
        return _supported(configured) or DEFAULT
    return from_accept_language(accept_language) or DEFAULT


def format_int(value: int, lang: Language) -> str:
    """Group thousands as the browser's Intl.NumberFormat does for `lang` (es: 10.000)."""
    grouped = f"{value:,}"
    if lang == "es":
        # Spanish groups only from five digits on (RAE): 1000, but 10.000.
        return grouped.replace(",", ".") if value >= 10_000 else str(value)
    return grouped
