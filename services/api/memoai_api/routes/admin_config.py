"""Configuration management: the 13 YAML files, validated, versioned, hot-reloaded."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from memoai.admin import config as service
from memoai.admin import config_archive
from memoai.admin import schemas as sc
from memoai.admin.multipart import file_field
from memoai.platform.errors import MemoError, UnsupportedMediaType
from memoai_api.deps import AdminDep, JsonBody, SettingsDep
from memoai_api.envelope import Envelope, ErrorEnvelope, ok
from memoai_api.routes import API_PREFIX
from memoai_api.routes.users import ADMIN_ERRORS

router = APIRouter(prefix=f"{API_PREFIX}/admin/config", tags=["admin"])

ConfigType = Annotated[str, Path(max_length=32, description="e.g. rubric, auth, llm")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorEnvelope, "description": "Unknown configuration file or version"}
}
INVALID: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorEnvelope,
        "description": "Invalid YAML or schema, or a ${VAR} the admin API may not use "
        "(config_invalid, with file, line and field)",
    },
    409: {
        "model": ErrorEnvelope,
        "description": "llm.yaml would send the API key elsewhere: resend with "
        "confirm_base_url_change (confirmation_required)",
    },
    413: {"model": ErrorEnvelope, "description": "Content too large"},
    503: {"model": ErrorEnvelope, "description": "The config directory cannot be written"},
}


@router.get("/categories", response_model=Envelope[sc.Categories], responses=ADMIN_ERRORS)
def categories(_admin: AdminDep, settings: SettingsDep) -> Envelope[sc.Categories]:
    """The five categories and their files, with each file's latest version."""
    return ok(service.categories(settings))


@router.post("/validate-all", response_model=Envelope[sc.ValidateAll], responses=ADMIN_ERRORS)
def validate_all(_admin: AdminDep, settings: SettingsDep) -> Envelope[sc.ValidateAll]:
    """Validate every file on disk against its schema (nothing is written)."""
    return ok(service.validate_all(settings))


@router.get(
    "/bulk-export",
    response_class=Response,
    responses={**ADMIN_ERRORS, 200: {"content": {"application/zip": {}}}},
)
def bulk_export(_admin: AdminDep, settings: SettingsDep) -> Response:
    """A zip of the 13 configuration files, byte for byte."""
    return Response(
        config_archive.export_zip(settings),
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="memoai-config.zip"'},
    )


@router.post(
    "/bulk-import",
    response_model=Envelope[sc.BulkImport],
    responses={**ADMIN_ERRORS, **INVALID, 415: {"model": ErrorEnvelope}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
                "application/zip": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def bulk_import(
    request: Request,
    admin: AdminDep,
    settings: SettingsDep,
    validate_only: bool = False,
    change_reason: Annotated[str | None, Query(max_length=sc.MAX_REASON_CHARS)] = None,
    confirm_base_url_change: bool = False,
) -> Envelope[sc.BulkImport]:
    """Import a zip of configuration files: all valid and written, or nothing written."""
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";", 1)[0].strip().lower()
    body = await request.body()
    if media == "multipart/form-data":
        data = file_field(content_type, body, "file")
    elif media in ("application/zip", "application/octet-stream"):
        data = body
    else:
        raise UnsupportedMediaType(
            "Upload the archive as multipart/form-data (field 'file') or application/zip."
        )
    if not data:
        raise MemoError("The upload is empty.", field="file", code="invalid_zip")
    result = await run_in_threadpool(
        config_archive.bulk_import,
        settings,
        admin,
        data,
        validate_only=validate_only,
        reason=change_reason,
        confirm_base_url_change=confirm_base_url_change,
    )
    return ok(result)


@router.get(
    "/{config_type}",
    response_model=Envelope[sc.ConfigDetail],
    responses={**ADMIN_ERRORS, **NOT_FOUND},
)
def get_config(
    config_type: ConfigType, _admin: AdminDep, settings: SettingsDep
) -> Envelope[sc.ConfigDetail]:
    """One file's exact content, latest version and whether a restart is pending."""
    return ok(service.get_config(settings, config_type))


@router.post(
    "/{config_type}/validate",
    response_model=Envelope[sc.Validation],
    dependencies=[JsonBody],
    responses={**ADMIN_ERRORS, **NOT_FOUND, **INVALID},
)
def validate(
    config_type: ConfigType, body: sc.ConfigContent, _admin: AdminDep, settings: SettingsDep
) -> Envelope[sc.Validation]:
    """Check proposed content (YAML and schema); nothing is written."""
    return ok(service.validate(settings, config_type, body.config_content))


@router.post(
    "/{config_type}",
    response_model=Envelope[sc.Saved],
    dependencies=[JsonBody],
    responses={**ADMIN_ERRORS, **NOT_FOUND, **INVALID},
)
def save(
    config_type: ConfigType, body: sc.ConfigSave, admin: AdminDep, settings: SettingsDep
) -> Envelope[sc.Saved]:
    """Save a file (validated, versioned, written atomically); invalid content is refused."""
    return ok(
        service.save(
            settings,
            admin,
            config_type,
            body.config_content,
            body.change_reason,
            confirm_base_url_change=body.confirm_base_url_change,
        )
    )


@router.get(
    "/{config_type}/history",
    response_model=Envelope[sc.History],
    responses={**ADMIN_ERRORS, **NOT_FOUND},
)
def history(
    config_type: ConfigType,
    _admin: AdminDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Envelope[sc.History]:
    """Every recorded version of a file, newest first."""
    return ok(service.history(config_type, limit))


@router.get(
    "/{config_type}/versions/{version_id}",
    response_model=Envelope[sc.VersionDetail],
    responses={**ADMIN_ERRORS, **NOT_FOUND},
)
def version(
    config_type: ConfigType,
    version_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    _admin: AdminDep,
) -> Envelope[sc.VersionDetail]:
    """One version's content and the content it replaced."""
    return ok(service.version_detail(config_type, version_id))


@router.post(
    "/{config_type}/rollback",
    response_model=Envelope[sc.Saved],
    dependencies=[JsonBody],
    responses={**ADMIN_ERRORS, **NOT_FOUND, **INVALID},
)
def rollback(
    config_type: ConfigType, body: sc.Rollback, admin: AdminDep, settings: SettingsDep
) -> Envelope[sc.Saved]:
    """Restore an earlier version's exact bytes (recorded as a new version)."""
    return ok(
        service.rollback(
            settings,
            admin,
            config_type,
            body.version_id,
            body.change_reason,
            confirm_base_url_change=body.confirm_base_url_change,
        )
    )
