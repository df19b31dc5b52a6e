"""Schema-driven fuzzing of the whole API (schemathesis): no 5xx, and every
response matches the OpenAPI document (status codes, headers, bodies)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.auth import ADMIN_PASSWORD, ADMIN_USERNAME, auth_overrides, bearer
from tests.support.stack import REPO, running_stack

pytestmark = pytest.mark.integration

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
        "ignored_auth",
    ]
)
# Would end the admin's own session (covered by test_auth_e2e instead).
EXCLUDED = ("/api/v1/auth/logout", "/api/v1/auth/refresh")


# Every operation is fuzzed in turn; past pytest's default 300 s since the
# coaches-and-cohorts routes (about 30 operations) were added. The run itself
# is bounded by the subprocess timeout below.
@pytest.mark.timeout(900)
def test_fuzzing_the_openapi_schema_finds_no_5xx_and_no_violations(tmp_path: Path) -> None:
    # Auth off, so both an admin token and anonymous sessions are exercised; the
    # admin's token opens every endpoint, the admin ones included.
    with running_stack(
        tmp_path, "postgres", services=("api",), **auth_overrides(AUTH_ENABLED="false")
    ) as stack:
        admin = bearer(stack, ADMIN_USERNAME, ADMIN_PASSWORD)
        command = [
            *(sys.executable, "-m", "tests.support.schemathesis_cli"),
            "run",
            f"{stack.api_url}/openapi.json",
            "--checks",
            CHECKS,
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "50",
            "--seed",
            "20261125",
            "--workers",
            "2",
            "--request-timeout",
            "20",
            "--header",
            f"Authorization: {admin['Authorization']}",
            "--suppress-health-check",
            "all",
        ]
        for path in EXCLUDED:
            command += ["--exclude-path", path]
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
            # The repository importable (tests.support) from the run's own directory.
            env={**stack.env, "NO_COLOR": "1", "PYTHONPATH": str(REPO)},
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, output[-25_000:]
        ran = re.search(r"(\d+) generated, (\d+) passed", output)
        assert ran and int(ran.group(2)) > 500, output[-5000:]  # it really exercised the API
