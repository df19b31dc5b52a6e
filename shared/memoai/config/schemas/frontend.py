"""Schema of ``frontend.yaml``: what the web UI shows and how it behaves.

Owns the UI settings (theme, language, page title), component limits and
timers, feature switches, and the browser-side performance settings.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator

from memoai.config.schemas.common import NonNegInt, PosInt, Strict, Text


def _theme(value: object) -> object:
    # "default" was the only value before themes existed (seed/07_Deployment.md):
    # it keeps meaning the out-of-the-box look, which now follows the device.
    return "system" if value == "default" else value


# light, dark, or system: the device's prefers-color-scheme.
Theme = Annotated[Literal["light", "dark", "system"], BeforeValidator(_theme)]


class UiSettings(Strict):
    theme: Theme = "system"
    language: Literal["auto", "en", "es"] = "auto"
    loading_timeout: PosInt = 30
    page_title: Text = "Memo AI Coach"


class Components(Strict):
    text_input_max_chars: PosInt = 10_000
    auto_save_interval: PosInt = 30
    session_timeout_warning: PosInt = 300
    tab_switch_animation: bool = True


class Features(Strict):
    debug_mode_enabled: bool = True
    progress_charts_enabled: bool = True
    help_tooltips_enabled: bool = True
    keyboard_shortcuts: bool = True


class FrontendPerformance(Strict):
    lazy_loading: bool = True
    cache_duration: NonNegInt = 300
    api_timeout: PosInt = 60
    chart_animation: bool = True


class Frontend(Strict):
    ui_settings: UiSettings = UiSettings()
    components: Components = Components()
    features: Features = Features()
    performance: FrontendPerformance = FrontendPerformance()


class FrontendFile(Strict):
    frontend: Frontend
