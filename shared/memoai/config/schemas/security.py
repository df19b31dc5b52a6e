"""Schema of ``security.yaml``: input limits, rate limits, CSRF, headers, webhooks.

Owns the hardening settings: text length and input checks, the
per-session/user and per-IP rate limits, the CSRF cookie, the HTTP security
headers, and outgoing webhook delivery (allow-list, signing secret, backoff).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from memoai.config.schemas.common import (
    ByteSize,
    NonNegInt,
    OptStr,
    PosFloat,
    PosInt,
    Strict,
    StrList,
    parse_list,
)


class InputValidation(Strict):
    max_text_length: Annotated[int, Field(ge=100, le=200_000)] = 10_000
    xss_protection: bool = True
    sql_injection_protection: bool = True
    file_upload_validation: bool = True
    # Documents uploaded for text extraction (POST /documents/extract): the
    # file's size, and the wall-clock budget of one extraction in seconds.
    max_upload_size: Annotated[ByteSize, Field(le=50 * 1024 * 1024)] = 5 * 1024 * 1024
    upload_extraction_timeout: Annotated[float, Field(gt=0, le=120)] = 10


class RateLimiting(Strict):
    enabled: bool = True
    requests_per_minute: PosInt = 60
    submissions_per_hour: PosInt = 10
    login_attempts_per_hour: PosInt = 5
    admin_operations_per_hour: PosInt = 100
    chat_messages_per_hour: PosInt = 60
    # Retries of failed evaluations: not submissions (the memo was already
    # counted), but each one costs an LLM call, so they have their own budget.
    retries_per_hour: PosInt = 10
    # Per-IP limits are the per-session/user limits times this factor: several
    # people behind one NAT share an address, one person should not get more.
    ip_multiplier: PosInt = 5


class CsrfConfig(Strict):
    enabled: bool = True
    token_expiry: PosInt = 3600
    cookie_name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$")] = "memoai_csrf_token"


class Headers(Strict):
    hsts_enabled: bool = True
    hsts_max_age: NonNegInt = 31_536_000
    https_only: bool = False
    content_security_policy: bool = True
    x_frame_options: Literal["DENY", "SAMEORIGIN"] = "DENY"
    x_content_type_options: Literal["nosniff"] = "nosniff"
    referrer_policy: str = "strict-origin-when-cross-origin"


class Webhooks(Strict):
    # Host names, IPs or CIDR ranges that callbacks may reach although they are
    # loopback, link-local or private (everything else there is refused).
    allowed_hosts: StrList = []
    signing_secret: OptStr = Field(default=None, repr=False)
    timeout: PosFloat = 10
    max_age_hours: PosFloat = 24
    backoff_seconds: Annotated[
        list[PosFloat],
        BeforeValidator(parse_list),
        Field(min_length=1),
    ] = [10, 30, 60, 300, 900, 1800, 3600, 7200, 14400]
    retry_interval: PosFloat = 10
    # What a receiver can make a worker do: read at most this much of its
    # answer (the rest is never downloaded), keep at most this many endpoints
    # per owner, and take at most this many attempts per endpoint per minute
    # (the excess waits its turn, it is not dropped).
    max_response_bytes: Annotated[int, Field(ge=256, le=1_048_576)] = 4096
    max_endpoints_per_owner: Annotated[int, Field(ge=1, le=1000)] = 10
    max_deliveries_per_minute: Annotated[int, Field(ge=1, le=1000)] = 60


class Security(Strict):
    input_validation: InputValidation = InputValidation()
    rate_limiting: RateLimiting = RateLimiting()
    csrf_protection: CsrfConfig = CsrfConfig()
    headers: Headers = Headers()
    webhooks: Webhooks = Webhooks()


class SecurityFile(Strict):
    security: Security
