"""The app's one HTML page, rendered once per language and kept compressed.

Everything on it depends only on the configuration and the language, so it is
rendered on first request for each language and then served from memory.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import jinja2

from memoai.auth.policy import MAX_PASSWORD_LENGTH
from memoai.config import Settings
from memoai_web import i18n
from memoai_web.assets import Bundle
from memoai_web.tabs import DEFAULT_TAB, TABS

API_PREFIX = "/api/v1"
_TEMPLATES = Path(__file__).parent / "templates"


class Page:
    def __init__(self, settings: Settings, bundle: Bundle) -> None:
        self.settings = settings
        self.bundle = bundle
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(_TEMPLATES),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.template = env.get_template("index.html")
        self._cache: dict[tuple[i18n.Language, bool, bool], tuple[bytes, bytes]] = {}

    def language(self, cookie: str | None, accept_language: str | None) -> i18n.Language:
        configured = self.settings.frontend.ui_settings.language
        return i18n.negotiate(configured, cookie, accept_language)

    def encoded(
        self, lang: i18n.Language, has_session: bool, has_login: bool = False
    ) -> tuple[bytes, bytes]:
        """The page in `lang`, plain and gzip-compressed."""
        key = (lang, has_session, has_login)
        if key not in self._cache:
            html = self.render(lang, has_session, has_login).encode()
            self._cache[key] = (html, gzip.compress(html, 9, mtime=0))
        return self._cache[key]

    def render(
        self, lang: i18n.Language, has_session: bool = False, has_login: bool = False
    ) -> str:
        settings, frontend = self.settings, self.settings.frontend
        t = i18n.catalogue(lang)
        max_length = settings.security.input_validation.max_text_length
        # What the browser modules need before any API call answers.
        boot: dict[str, Any] = {
            "lang": lang,
            "strings": t.strings,
            "api": API_PREFIX,
            "defaultTab": DEFAULT_TAB,
            "maxLength": max_length,
            "maxUploadBytes": settings.security.input_validation.max_upload_size,
            "authEnabled": settings.authentication.enabled,
            # The session cookie is httpOnly: tell the page whether to validate it
            # or to start a session straight away (one round trip less).
            "hasSession": has_session,
            # Likewise the login cookie: only then is /auth/verify worth asking.
            "hasLogin": has_login,
            "langCookie": i18n.LANG_COOKIE,
            "csrfCookie": settings.security.csrf_protection.cookie_name,
            # The Account tab checks a new password as the API will (auth.yaml);
            # the API stays the judge and its answer is shown if they differ.
            "passwordPolicy": {
                "minLength": settings.authentication.password_policy.min_length,
                "maxLength": MAX_PASSWORD_LENGTH,
                "requireLetter": settings.authentication.password_policy.require_letter,
                "requireDigit": settings.authentication.password_policy.require_digit,
            },
            "frontend": frontend.model_dump(),
        }
        return self.template.render(
            t=t,
            lang=lang,
            languages=i18n.LANGUAGES,
            title=frontend.ui_settings.page_title,
            tabs=TABS,
            static=self.bundle.prefix.rstrip("/"),
            script=self.bundle.url(self.bundle.entry),
            stylesheet=self.bundle.url(self.bundle.stylesheet),
            preload=[self.bundle.url(name) for name in self.bundle.preloads()],
            fonts=self.bundle.fonts,
            boot=boot,
            max_length=i18n.format_int(max_length, lang),
            max_upload_mb=_megabytes(settings.security.input_validation.max_upload_size, lang),
            tooltips=frontend.features.help_tooltips_enabled,
            theme=frontend.ui_settings.theme,
        )


def _megabytes(size: int, lang: i18n.Language) -> str:
    """A size in MB as the browser writes it (one decimal at most; "2,5" in Spanish)."""
    text = f"{size / 1_048_576:.1f}".removesuffix(".0")
    return text.replace(".", ",") if lang == "es" else text
