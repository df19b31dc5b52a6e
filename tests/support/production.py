"""A complete production environment: every secret the start-up check asks for."""

from __future__ import annotations

# Long, random-looking values (none is a placeholder), distinct so a test can
# tell which one leaked.
PRODUCTION_SECRETS = {
    "JWT_SECRET_KEY": "prod-jwt-" + "9f3a1c7e5b2d4f60" * 3,
    "WEBHOOK_SIGNING_SECRET": "prod-whsig-" + "41d8cd98f00b204e" * 3,
    "CLAUDE_API_KEY": "sk-ant-prod-" + "a1b2c3d4e5f60718" * 3,
}


def production_env(**extra: str) -> dict[str, str]:
    """APP_ENV=production with every required secret set; `extra` on top."""
    return {"APP_ENV": "production", **PRODUCTION_SECRETS, **extra}
