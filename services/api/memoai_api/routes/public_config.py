"""The live rubric, frameworks and limits, for the web app's Help tab and for integrators."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from memoai import __version__
from memoai.config import business_config
from memoai.llm.offline import MODEL_NAME as OFFLINE_MODEL
from memoai_api.deps import SettingsDep
from memoai_api.envelope import Envelope, ok
from memoai_api.routes import API_PREFIX

router = APIRouter(prefix=f"{API_PREFIX}/config", tags=["configuration"])


class PublicConfig(BaseModel):
    version: str
    config_version: str
    rubric: dict[str, Any]
    frameworks: list[dict[str, Any]]
    context: dict[str, Any]
    limits: dict[str, int]
    llm: dict[str, Any]
    auth_enabled: bool
    frontend: dict[str, Any]
    features: dict[str, bool] = {}


@router.get("/public", response_model=Envelope[PublicConfig])
def public_config(settings: SettingsDep) -> Envelope[PublicConfig]:
    """Rubric, frameworks, context and limits currently in force (no secrets)."""
    business = business_config()
    return ok(
        PublicConfig(
            version=__version__,
            config_version=business.version,
            rubric=business.rubric.model_dump(),
            frameworks=[f.model_dump() for f in business.frameworks],
            context=business.context.model_dump(),
            limits={
                "max_text_length": settings.security.input_validation.max_text_length,
                "max_upload_size": settings.security.input_validation.max_upload_size,
                "polling_interval_ms": int(settings.backend.evaluation.polling_interval * 1000),
            },
            llm={
                "provider": settings.llm_provider,
                "offline": settings.llm_provider == "offline",
                "model": settings.llm.provider.model
                if settings.llm_provider != "offline"
                else OFFLINE_MODEL,
            },
            auth_enabled=settings.authentication.enabled,
            frontend=settings.frontend.model_dump(),
            # What this build serves, so clients show only working actions.
            features={
                "chat": True,
                "pdf": True,
                "revisions": True,
                "progress": settings.frontend.features.progress_charts_enabled,
                "batches": True,
                "webhooks": True,
            },
        )
    )
