"""Render the prompt templates from prompt.yaml in a Jinja2 sandbox."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from memoai.config import BusinessConfig
from memoai.evaluation.language import language_name

_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


class PromptRenderError(Exception):
    pass


@lru_cache(maxsize=64)
def _template(source: str) -> Any:
    return _env.from_string(source)


def render(source: str, **variables: Any) -> str:
    try:
        return str(_template(source).render(**variables))
    except TemplateError as exc:
        raise PromptRenderError(f"prompt template error: {exc}") from exc


def _common(business: BusinessConfig) -> dict[str, Any]:
    return {
        "rubric": business.rubric.model_dump(),
        "frameworks": [f.model_dump() for f in business.frameworks],
        "context": business.context.model_dump(),
    }


@lru_cache(maxsize=16)
def _system(business: BusinessConfig) -> str:
    # Depends only on the configuration, so the same bytes go out for every memo
    # and the provider's prompt cache can hit.
    return render(business.prompt.system, **_common(business)).strip()


@dataclass(frozen=True)
class EvaluationPrompt:
    system: str
    user: str
    boundary: str


def new_boundary() -> str:
    # Random per request: text inside the memo cannot forge the closing line.
    return f"=====MEMO-{secrets.token_hex(8)}====="


def evaluation_prompt(business: BusinessConfig, memo: str, language: str) -> EvaluationPrompt:
    boundary = new_boundary()
    user = render(
        business.prompt.evaluation,
        **_common(business),
        memo=memo,
        boundary=boundary,
        language=language_name(language),
    ).strip()
    return EvaluationPrompt(system=_system(business), user=user, boundary=boundary)


def repair_prompt(business: BusinessConfig, problems: list[str]) -> str:
    return render(business.prompt.repair, problems="; ".join(problems)).strip()
