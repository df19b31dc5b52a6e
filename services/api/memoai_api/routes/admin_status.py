"""System status for the admin dashboard."""

from __future__ import annotations

from fastapi import APIRouter

from memoai.admin import diagnostics
from memoai.admin import schemas as sc
from memoai_api.deps import AdminDep, SettingsDep
from memoai_api.envelope import Envelope, ok
from memoai_api.routes import API_PREFIX
from memoai_api.routes.users import ADMIN_ERRORS

router = APIRouter(prefix=f"{API_PREFIX}/admin", tags=["admin"])


@router.get("/status", response_model=Envelope[sc.Status], responses=ADMIN_ERRORS)
def status(_admin: AdminDep, settings: SettingsDep) -> Envelope[sc.Status]:
    """Database, broker, live workers, queue depth, LLM reachability, version, uptime."""
    return ok(diagnostics.status(settings))
