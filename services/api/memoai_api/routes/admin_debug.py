"""Debug mode: the global toggle, per-evaluation timings and raw exchanges, self-test."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from memoai.admin import diagnostics
from memoai.admin import schemas as sc
from memoai_api.deps import AdminDep, JsonBody, SettingsDep
from memoai_api.envelope import Envelope, ok
from memoai_api.routes import API_PREFIX
from memoai_api.routes.users import ADMIN_ERRORS

router = APIRouter(prefix=API_PREFIX, tags=["admin"])


@router.post(
    "/admin/debug/toggle",
    response_model=Envelope[sc.DebugState],
    dependencies=[JsonBody],
    responses=ADMIN_ERRORS,
)
def toggle(body: sc.DebugToggle, admin: AdminDep) -> Envelope[sc.DebugState]:
    """Switch debug mode for every process (raw prompts and responses are stored while on)."""
    return ok(diagnostics.set_debug(admin, body.debug_enabled))


@router.get("/debug/info", response_model=Envelope[sc.DebugInfo], responses=ADMIN_ERRORS)
def debug_info(
    _admin: AdminDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    evaluation_id: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9-]+$")] = None,
) -> Envelope[sc.DebugInfo]:
    """Recent evaluations with timing breakdown, tokens, cost and (debug on) raw exchanges."""
    return ok(diagnostics.debug_info(limit, evaluation_id))


@router.post("/admin/debug/self-test", response_model=Envelope[sc.SelfTest], responses=ADMIN_ERRORS)
def self_test(admin: AdminDep, settings: SettingsDep) -> Envelope[sc.SelfTest]:
    """Check the API, database, broker round trip via a worker, LLM provider and logging."""
    return ok(diagnostics.self_test(settings, admin))
