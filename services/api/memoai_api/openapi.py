"""The OpenAPI document, completed with the error responses every route can give.

Routes declare their own domain errors (404, 409, 425…). The cross-cutting
ones come from dependencies and middleware that any route may hit - rate
limits, authentication, CSRF, body parsing, size limit - and are added here
once, so the document stays true as routes are added.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from memoai_api.envelope import ErrorEnvelope

ENVELOPE_REF = {"$ref": "#/components/schemas/ErrorEnvelope"}
RATE_HEADERS = {
    name: {"description": text, "schema": {"type": "integer"}}
    for name, text in (
        ("Retry-After", "Seconds to wait before retrying"),
        ("X-RateLimit-Limit", "Requests allowed in the window"),
        ("X-RateLimit-Remaining", "Requests left in the window"),
        ("X-RateLimit-Reset", "Seconds until the window has room again"),
    )
}


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": ENVELOPE_REF}},
    }
    if headers:
        response["headers"] = headers
    return response


def complete(schema: dict[str, Any], prefix: str) -> dict[str, Any]:
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    if "ErrorEnvelope" not in schemas:
        generated = ErrorEnvelope.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(generated.pop("$defs", {}))
        schemas["ErrorEnvelope"] = generated
    for path, operations in schema.get("paths", {}).items():
        if not path.startswith(prefix):
            continue
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            responses.setdefault("429", _error("Rate limit exceeded", RATE_HEADERS))
            if "429" in responses:
                responses["429"].setdefault("headers", RATE_HEADERS)
            if operation.get("security"):
                responses.setdefault("401", _error("Missing, invalid or expired credentials"))
                responses.setdefault("403", _error("Not allowed, or no valid X-CSRF-Token"))
            if "requestBody" in operation:
                responses.setdefault("400", _error("Malformed JSON"))
                responses.setdefault("413", _error("Body larger than the limit"))
                responses.setdefault("415", _error("Body is not JSON"))
            if "422" in responses or operation.get("parameters") or "requestBody" in operation:
                # Our validation errors are enveloped, not FastAPI's default shape.
                description = responses.get("422", {}).get("description", "Validation error")
                responses["422"] = _error(
                    "Validation error" if description == "Validation Error" else description
                )
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    return schema


def install(app: FastAPI, prefix: str) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                ),
                prefix,
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
